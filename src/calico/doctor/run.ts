// Runs the checks: first whether the API server answers and which of the
// permissions the checks need are granted (SelfSubjectAccessReview), then
// every check that can run, concurrently; the others SKIP and say why.
import { UsageError } from '../../cli/errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { deniedPermissions, describePermission } from '../../kube/access.ts';
import { ApiError, ConnectionError } from '../../kube/errors.ts';
import { CHECKS } from './checks.ts';
import { Facts } from './facts.ts';
import type { CheckResult } from './types.ts';

export const ACCESS = [
  { id: 'CAL-0101', category: 'Access', check: 'API server reachable, credentials work' },
  { id: 'CAL-0102', category: 'Access', check: 'Permissions doctor needs' },
];

export const ALL_IDS = [...ACCESS.map((a) => a.id), ...CHECKS.map((c) => c.id)];

export async function runDoctor(kube: KubeClient, only: Set<string> | undefined): Promise<CheckResult[]> {
  const facts = new Facts(kube);
  const wanted = (id: string) => !only || only.has(id);
  const checks = CHECKS.filter((c) => wanted(c.id));
  const results: CheckResult[] = [];
  const [reachable, permission] = ACCESS;
  try {
    const version = await facts.version();
    results.push({ ...reachable!, status: 'PASS', finding: `${kube.server} answers (Kubernetes ${version.gitVersion}) as user "${kube.userName}" of context "${kube.contextName}"` });
  } catch (error) {
    if (!(error instanceof ConnectionError || error instanceof ApiError)) throw error;
    const fix = error instanceof ApiError && error.statusCode === 401 ? 'Renew the credentials of the kubeconfig user (an expired token or certificate)' : 'Check the kubeconfig context and the network path to the API server';
    results.push({ ...reachable!, status: 'FAIL', finding: error.message, fix });
    for (const check of [permission!, ...checks]) results.push({ id: check.id, category: check.category, check: check.check, status: 'SKIP', finding: 'the API server could not be used (CAL-0101)' });
    return results.filter((r) => wanted(r.id));
  }
  const denied = await deniedPermissions(kube, checks.flatMap((c) => c.needs));
  results.push(denied.size
    ? { ...permission!, status: 'WARN', finding: `not granted: ${[...denied].join(', ')}; the checks that need them are skipped`, fix: 'Run doctor as a user with read access to the cluster (e.g. the view ClusterRole plus secrets-free access to Calico\'s resources)' }
    : { ...permission!, status: 'PASS', finding: 'every permission doctor needs is granted' });
  const verdicts = await Promise.all(checks.map(async (check): Promise<CheckResult> => {
    const base = { id: check.id, category: check.category, check: check.check };
    const missing = check.needs.map(describePermission).filter((p) => denied.has(p));
    if (missing.length) return { ...base, status: 'SKIP', finding: `needs permission: ${missing.join(', ')}` };
    try {
      return { ...base, ...(await check.run(facts)) };
    } catch (error) {
      // A UsageError here is a value in the cluster that does not parse, such as a malformed podSubnet in kubeadm-config.
      if (error instanceof ApiError || error instanceof ConnectionError || error instanceof UsageError) return { ...base, status: 'SKIP', finding: `could not run: ${error.message}` };
      throw error;
    }
  }));
  return [...results, ...verdicts].filter((r) => wanted(r.id));
}
