// Reads what `ipam show` and `ipam check` judge, concurrently, each thing once.
import type { KubeClient } from '../../kube/client.ts';
import { checkIpam, type IpamCheck } from './check.ts';
import { readAffinities, readBlocks, readHandles, readIpamNodes, readLeakGracePeriod, readPodAddresses, readPodHolds, readPools } from './read.ts';
import { ipamUsage, type IpamUsage } from './usage.ts';

export async function readIpamUsage(kube: KubeClient): Promise<IpamUsage> {
  const [pools, { blocks }, nodes] = await Promise.all([readPools(kube), readBlocks(kube), readIpamNodes(kube)]);
  return ipamUsage(pools, blocks, nodes);
}

/** What `ipam check` reports: the check, and calico-kube-controllers' leakGracePeriod it was judged by. */
export interface IpamCheckReport {
  check: IpamCheck;
  leakGrace: string;
}

/**
 * The whole check: the pods' addresses are read before the blocks, so that an address given out in between is at
 * worst a young suspect, confirmed by its pod, never a missed leak.
 */
export async function runIpamCheck(kube: KubeClient): Promise<IpamCheckReport> {
  const pods = await readPodAddresses(kube);
  const [pools, { blocks, serverTime }, affinities, handles, nodes, leakGrace] = await Promise.all([
    readPools(kube), readBlocks(kube), readAffinities(kube), readHandles(kube), readIpamNodes(kube), readLeakGracePeriod(kube),
  ]);
  const check = await checkIpam({
    pools, blocks, affinities, handles, nodes, pods, leakGrace, now: serverTime ?? Date.now(),
    podHolds: (namespace, name) => readPodHolds(kube, namespace, name),
    confirmLimit: Number.POSITIVE_INFINITY,
  });
  return { check, leakGrace: leakGrace.text };
}
