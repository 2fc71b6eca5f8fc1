// The report `calicoctl ipam check -o FILE` writes (check.go CheckReport,
// json.MarshalIndent with two spaces), which `calicoctl ipam release
// --from-report FILE` reads: it refuses a report of another cluster (the
// ClusterInformation's clusterGUID), of another calicoctl version (unless
// --force), or older than the ClusterInformation (its resourceVersion), and
// releases each allocation that is neither in use nor cooling down, by
// address, handle and sequence number, and deletes each leaked handle whose
// UID and revision are unchanged.
import { CliError } from '../../cli/errors.ts';
import { replaceFile } from '../../cli/files.ts';
import type { KubeClient } from '../../kube/client.ts';
import { installedCalico } from '../installed.ts';
import type { Allocation, IpamCheck } from './check.ts';
import { readClusterInformation, type Handle } from './read.ts';

export interface ClusterInfo {
  clusterGUID: string;
  clusterType: string;
  datastoreReady: boolean | undefined;
  resourceVersion: string;
}

/** The report's text: fields in the order Go writes them, allocations by address as Go sorts map keys. */
export function calicoctlReport(version: string, cluster: ClusterInfo, allocations: Allocation[], leakedHandles: Handle[]): string {
  const byIP = new Map<string, Allocation[]>();
  for (const a of allocations) {
    if (!byIP.has(a.ip)) byIP.set(a.ip, []);
    byIP.get(a.ip)!.push(a);
  }
  const raw = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
  const entry = (a: Allocation) => ({
    ip: a.ip,
    ...(a.handle ? { handle: a.handle } : {}),
    // uint64 nanoseconds: written as the digits read, never through a double.
    sequenceNumber: raw(String(a.sequenceNumber)),
    ...(a.pod ? { pod: a.pod } : {}),
    ...(a.namespace ? { namespace: a.namespace } : {}),
    ...(a.node ? { node: a.node } : {}),
    ...(a.type ? { type: a.type } : {}),
    ...(a.creationTimestamp ? { creationTimestamp: a.creationTimestamp } : {}),
    inUse: a.inUse,
    ...(a.borrowed ? { borrowed: true } : {}),
    ...(a.coolingDown ? { coolingDown: true } : {}),
    owners: a.owners,
  });
  const report = {
    version,
    clusterGUID: cluster.clusterGUID,
    datastoreLocked: cluster.datastoreReady === false,
    clusterInformationRevision: cluster.resourceVersion,
    clusterType: cluster.clusterType,
    allocations: Object.fromEntries([...byIP.keys()].sort().map((ip) => [ip, byIP.get(ip)!.map(entry)])),
    ...(leakedHandles.length ? { leakedHandles: leakedHandles.map((h) => ({ ID: h.handleID, UID: h.uid, Revision: h.resourceVersion })) } : {}),
  };
  // Go's encoder escapes <, > and & in strings; nothing in a report has them but an owner's name could.
  return JSON.stringify(report, null, 2).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/**
 * Writes the check's report to `file` for the Calico version installed (calicoctl ipam release compares it with its
 * own); returns the warnings to give. A file that cannot be written is an error.
 */
export async function writeCalicoctlReport(kube: KubeClient, check: IpamCheck, file: string): Promise<string[]> {
  const [cluster, installed] = await Promise.all([readClusterInformation(kube), installedCalico(kube)]);
  const warnings = cluster ? [] : [`there is no ClusterInformation "default": ${file} has no clusterGUID, and calicoctl ipam release refuses a report of another cluster`];
  try {
    replaceFile(file, calicoctlReport(installed.version ?? '', cluster ?? { clusterGUID: '', clusterType: '', datastoreReady: undefined, resourceVersion: '' }, check.allocations, check.leakedHandles));
  } catch (error) {
    throw new CliError(`cannot write --report ${file}: ${(error as Error).message}`);
  }
  return warnings;
}
