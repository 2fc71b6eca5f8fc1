// What the current user may do, as the API server says it
// (SelfSubjectAccessReview): asked before acting, so a missing permission is
// named up front instead of failing part-way. doctor skips the checks it
// cannot make; connectivity refuses to start.
import type { KubeClient } from './client.ts';

export interface Permission {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  subresource?: string;
}

/** `list pods in namespace calico-system`, `create pods/exec in namespace calico-connectivity`, `get installations.operator.tigera.io`. */
export function describePermission(p: Permission): string {
  return `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.group ? `.${p.group}` : ''}${p.namespace ? ` in namespace ${p.namespace}` : ''}`;
}

/** The permissions of `needs` the server does not grant, as describePermission() words them; each distinct one asked once, all at once. */
export async function deniedPermissions(kube: KubeClient, needs: Permission[], signal?: AbortSignal): Promise<Set<string>> {
  const unique = new Map(needs.map((p) => [describePermission(p), p]));
  const answers = await Promise.all([...unique].map(async ([text, p]) => {
    const review = await kube.json<{ status?: { allowed?: boolean } }>('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      method: 'POST',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, ...(p.subresource ? { subresource: p.subresource } : {}), ...(p.namespace ? { namespace: p.namespace } : {}) } } },
      signal,
    });
    return review.status?.allowed ? undefined : text;
  }));
  return new Set(answers.filter((a): a is string => a !== undefined));
}
