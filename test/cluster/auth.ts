// Authentication (bearer tokens, client certificates) and authorization
// evaluated from the RBAC objects stored in the cluster, as kube-apiserver's
// RBAC authorizer does it.
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { RequestInfo } from './routes.ts';
import type { Store } from './store.ts';
import { StatusError } from './status.ts';

export interface UserInfo {
  name: string;
  groups: string[];
}

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** Paths every client may read without credentials (kubeadm's system:public-info-viewer). */
export const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

export class Authenticator {
  private readonly tokens = new Map<string, UserInfo>();

  addToken(token: string, user: UserInfo): void {
    this.tokens.set(token, { ...user, groups: [...user.groups, 'system:authenticated'] });
  }

  /** The caller, ANONYMOUS without credentials, or undefined when the credentials are wrong. */
  authenticate(request: IncomingMessage): UserInfo | undefined {
    const header = request.headers.authorization;
    if (header) {
      const match = /^Bearer\s+(.+)$/i.exec(header);
      return match ? this.tokens.get(match[1]!.trim()) : undefined;
    }
    const socket = request.socket as TLSSocket;
    if (socket.authorized) {
      const cert = socket.getPeerCertificate();
      const subject = cert?.subject as unknown as { CN?: string; O?: string | string[] } | undefined;
      if (subject?.CN) {
        const groups = subject.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
        return { name: subject.CN, groups: [...groups, 'system:authenticated'] };
      }
    }
    return ANONYMOUS;
  }
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface Binding {
  metadata: { name: string; namespace?: string };
  roleRef: { kind: string; name: string };
  subjects?: Subject[];
}

export interface Attributes {
  user: UserInfo;
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string | undefined;
  name: string | undefined;
  path: string;
  isResource: boolean;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Evaluates RBAC from the ClusterRoles, Roles and their bindings in the store. */
export class Authorizer {
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  authorize(attributes: Attributes): Decision {
    for (const binding of this.bindings(attributes.namespace)) {
      if (!(binding.subjects ?? []).some((s) => subjectMatches(s, attributes.user))) continue;
      const rules = this.rules(binding);
      if (rules.some((rule) => ruleAllows(rule, attributes))) {
        const where = binding.metadata.namespace ? `RoleBinding "${binding.metadata.name}/${binding.metadata.namespace}"` : `ClusterRoleBinding "${binding.metadata.name}"`;
        return { allowed: true, reason: `RBAC: allowed by ${where} of ${binding.roleRef.kind} "${binding.roleRef.name}"` };
      }
    }
    return { allowed: false, reason: '' };
  }

  /** Every rule that applies to the user in a namespace (for SelfSubjectRulesReview). */
  rulesFor(user: UserInfo, namespace: string | undefined): { resourceRules: PolicyRule[]; nonResourceRules: PolicyRule[] } {
    const rules = this.bindings(namespace)
      .filter((b) => (b.subjects ?? []).some((s) => subjectMatches(s, user)))
      .flatMap((b) => this.rules(b));
    return {
      resourceRules: rules.filter((r) => r.resources).map(({ nonResourceURLs: _n, ...r }) => r),
      nonResourceRules: rules.filter((r) => r.nonResourceURLs).map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs ?? [] })),
    };
  }

  private bindings(namespace: string | undefined): Binding[] {
    const cluster = this.store.list('clusterrolebindings.rbac.authorization.k8s.io') as unknown as Binding[];
    const local = namespace ? (this.store.list('rolebindings.rbac.authorization.k8s.io', namespace) as unknown as Binding[]) : [];
    return [...cluster, ...local];
  }

  private rules(binding: Binding): PolicyRule[] {
    const role = binding.roleRef.kind === 'ClusterRole'
      ? this.store.get('clusterroles.rbac.authorization.k8s.io', undefined, binding.roleRef.name)
      : this.store.get('roles.rbac.authorization.k8s.io', binding.metadata.namespace, binding.roleRef.name);
    return ((role as { rules?: PolicyRule[] } | undefined)?.rules ?? []);
  }
}

function subjectMatches(subject: Subject, user: UserInfo): boolean {
  if (subject.kind === 'User') return subject.name === user.name;
  if (subject.kind === 'Group') return user.groups.includes(subject.name);
  if (subject.kind === 'ServiceAccount') return user.name === `system:serviceaccount:${subject.namespace}:${subject.name}`;
  return false;
}

function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!matches(rule.verbs, a.verb)) return false;
  if (!a.isResource) return (rule.nonResourceURLs ?? []).some((url) => url === '*' || url === a.path || (url.endsWith('*') && a.path.startsWith(url.slice(0, -1))));
  if (!rule.resources || !matches(rule.apiGroups, a.group)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = rule.resources.some((r) => r === '*' || r === combined || (a.subresource && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  return !rule.resourceNames?.length || (a.name !== undefined && rule.resourceNames.includes(a.name));
}

function matches(list: string[] | undefined, value: string): boolean {
  return (list ?? []).some((item) => item === '*' || item === value);
}

/** kube-apiserver's Forbidden for an RBAC denial. */
export function forbidden(a: Attributes): StatusError {
  const user = a.user.name;
  if (!a.isResource) return new StatusError(403, 'Forbidden', `forbidden: User "${user}" cannot ${a.verb} path "${a.path}"`, {});
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name !== undefined ? `${qualified} "${a.name}"` : qualified;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return new StatusError(403, 'Forbidden', `${subject} is forbidden: User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}`, {
    ...(a.name !== undefined ? { name: a.name } : {}),
    ...(a.group ? { group: a.group } : {}),
    kind: a.resource,
  });
}

export function attributesOf(info: RequestInfo, user: UserInfo): Attributes {
  return { user, verb: info.verb, group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name, path: info.path, isResource: info.isResource };
}
