// BGP as doctor can see it without exec: the kubelet records each failing
// readiness probe of calico-node as an `Unhealthy` event carrying the
// probe's output, `… BIRD is not ready: BGP not established with 10.0.0.2,
// 10.0.0.3` — which node could not reach which peers. BIRD insists on every
// peer only in its first 30 s, so these events come from calico-node's
// start; one is noise when the peer's calico-node was not running yet, and a
// lone complaint that was not repeated may be a session still coming up. A
// pair counts when both ends complained of each other, a complaint was
// repeated, or the complaining pod is still not ready.
import { humanAge } from '../../print/age.ts';
import { podRouting } from '../bgp/node-status.ts';
import type { Facts, Pod } from './facts.ts';

export interface BgpEvidence {
  pairs: { a: string; b: string; both: boolean; ago: string }[];
  /** Peers outside the cluster (no node has the address). */
  external: { node: string; address: string; ago: string }[];
  /** How pod traffic between nodes is routed: decides what a down session breaks. */
  routing: 'vxlan' | 'bgp';
}

const HOUR = 3600_000;
const NOT_ESTABLISHED = /BGP not established with ([0-9A-Fa-f.:, ]+)/;

export async function bgpFromEvents(facts: Facts): Promise<BgpEvidence> {
  const now = await facts.now();
  const pools = await facts.ipPools();
  // The events do not say which family's session is down (BIRD6's may be behind BIRD's): a family routed by BGP decides.
  const families = Object.values(podRouting(pools.map((p) => p.spec ?? {})));
  const routing = families.length > 0 && families.every((r) => r === 'vxlan') ? 'vxlan' : 'bgp';
  const events = (await facts.warningEvents('calico-system')).filter((e) => e.reason === 'Unhealthy' && e.involvedObject?.kind === 'Pod' && NOT_ESTABLISHED.test(e.message ?? '') && now - time(e) <= HOUR);
  if (events.length === 0) return { pairs: [], external: [], routing };
  const [nodes, pods] = await Promise.all([facts.nodes(), facts.pods('calico-system', 'k8s-app=calico-node')]);
  const byAddress = new Map<string, string>();
  for (const node of nodes) {
    for (const key of ['projectcalico.org/IPv4Address', 'projectcalico.org/IPv6Address']) {
      const address = node.metadata.annotations?.[key]?.split('/')[0];
      if (address) byAddress.set(address, node.metadata.name);
    }
  }
  const podOn = new Map<string, Pod>();
  for (const pod of pods) if (pod.spec?.nodeName && !pod.metadata.deletionTimestamp) podOn.set(pod.spec.nodeName, pod);
  const nodeOfPod = new Map(pods.map((p) => [p.metadata.name, p.spec?.nodeName]));

  const complaints = new Map<string, { at: number; repeated: boolean; unready: boolean }>();
  const external = new Map<string, { node: string; address: string; at: number }>();
  for (const event of events) {
    const node = event.source?.host ?? nodeOfPod.get(event.involvedObject?.name ?? '');
    if (!node) continue;
    const at = time(event);
    const complainer = podOn.get(node);
    const unready = complainer !== undefined && !running(complainer).ready;
    for (const address of NOT_ESTABLISHED.exec(event.message!)![1]!.split(',').map((a) => a.trim()).filter(Boolean)) {
      const peer = byAddress.get(address);
      if (!peer) {
        const key = `${node}\n${address}`;
        external.set(key, { node, address, at: Math.max(at, external.get(key)?.at ?? 0) });
        continue;
      }
      // The peer's calico-node started after this probe: it was not up yet, which is no fault of the network.
      const started = running(podOn.get(peer)).startedAt;
      if (started === undefined || started > at) continue;
      const key = `${node}\n${peer}`;
      const seen = complaints.get(key);
      complaints.set(key, { at: Math.max(at, seen?.at ?? 0), repeated: (seen !== undefined) || (event.count ?? 1) > 1, unready: unready || (seen?.unready ?? false) });
    }
  }
  const pairs = new Map<string, BgpEvidence['pairs'][number] & { at: number; strong: boolean }>();
  for (const [key, complaint] of complaints) {
    const [a, b] = key.split('\n') as [string, string];
    const [first, second] = [a, b].sort() as [string, string];
    const pair = `${first}\n${second}`;
    const other = complaints.get(`${b}\n${a}`);
    const at = Math.max(complaint.at, other?.at ?? 0);
    const strong = other !== undefined || complaint.repeated || complaint.unready || (pairs.get(pair)?.strong ?? false);
    pairs.set(pair, { a: other ? first : a, b: other ? second : b, both: other !== undefined, ago: humanAge(Math.max(0, now - at)), at, strong });
  }
  return {
    pairs: [...pairs.values()].filter((p) => p.strong).sort((x, y) => y.at - x.at).map(({ a, b, both, ago }) => ({ a, b, both, ago })),
    external: [...external.values()].map(({ node, address, at }) => ({ node, address, ago: humanAge(Math.max(0, now - at)) })),
    routing,
  };
}

function time(event: { lastTimestamp?: string; eventTime?: string }): number {
  return Date.parse(event.lastTimestamp ?? event.eventTime ?? '') || 0;
}

/** The calico-node container: when it started running, and whether it is ready. */
function running(pod: Pod | undefined): { startedAt: number | undefined; ready: boolean } {
  const status = pod?.status?.containerStatuses?.find((c) => c.name === 'calico-node');
  const startedAt = Date.parse((status?.state?.running as { startedAt?: string } | undefined)?.startedAt ?? '');
  return { startedAt: Number.isNaN(startedAt) ? undefined : startedAt, ready: status?.ready === true };
}
