// `calicoctl ipam check`, read-only and through the API: every allocation in
// the IPAM blocks set against what holds addresses — pods (status.podIPs; a
// dual-stack pod's two addresses share one handle), the nodes' tunnel
// addresses — as calicoctl's IPAMChecker does it (calicoctl/commands/ipam/
// check.go: recordAllocation, recordInUseIP, validateBlock, the report), and
// judged: a leak younger than leakGracePeriod is calico-kube-controllers'
// to release (WARN), an older one is not being released (FAIL). Also blocks
// of deleted nodes, blocks outside every enabled pool, handles without
// allocations, addresses pods hold that IPAM never gave, and pools that are
// full. Each finding is data: its count, its oldest member, the members
// (capped by the printer, never here) and the fix.
import { mapLimit } from '../../cli/limit.ts';
import { humanAge, parseGoTime } from '../../print/age.ts';
import { addressAt, containsAddress, overlaps, parseAddress } from '../cidr.ts';
import { countText } from './counts.ts';
import type { Affinity, Block, Handle, IpamNode, PodAddress, Pool } from './read.ts';
import { affineNode, freeBlocks, ipamUsage, shortage, type IpamUsage } from './usage.ts';

/** An allocation as calicoctl's report records it (check.go Allocation), plus the block it is in. */
export interface Allocation {
  ip: string;
  handle?: string;
  sequenceNumber: number | string;
  pod?: string;
  namespace?: string;
  node?: string;
  type?: string;
  creationTimestamp?: string;
  inUse: boolean;
  borrowed?: boolean;
  coolingDown?: boolean;
  owners: string[] | null;
  block: string;
}

export type Severity = 'FAIL' | 'WARN';

export interface IpamFinding {
  id: FindingId;
  status: Severity;
  message: string;
  count: number;
  /** The age of its oldest member, as kubectl prints ages. */
  oldest?: string;
  /** The members, as rows (column name → cell). */
  items: Record<string, string>[];
  fix: string;
}

export type FindingId = 'leaked-addresses' | 'young-leaks' | 'stale-affinities' | 'outside-pools' | 'in-use-not-allocated' | 'leaked-handles' | 'missing-handles' | 'invalid-blocks' | 'pool-exhausted' | 'blocks-short' | 'pool-nearly-full';

export interface CheckInput {
  pools: Pool[];
  blocks: Block[];
  affinities: Affinity[];
  /** Undefined: handles are not looked at (doctor). */
  handles?: Handle[];
  nodes: IpamNode[];
  pods: PodAddress[];
  leakGrace: { ms: number | undefined; text: string };
  now: number;
  /** What a pod holds (undefined: no such pod), to confirm a suspected leak. */
  podHolds: (namespace: string, name: string) => Promise<string[] | undefined>;
  /** Pods looked up to confirm suspected leaks, at most (the rest stay suspected). */
  confirmLimit: number;
  /**
   * A block as it is now (undefined: gone), when the blocks were read before the pods (doctor, whose other IPAM
   * checks share that read): a suspect its pod does not hold is then a leak only if its block still holds it — the
   * pod may have released it since the blocks were read.
   */
  recheck?: (blockName: string) => Promise<Block | undefined>;
}

export interface IpamCheck {
  allocations: Allocation[];
  findings: IpamFinding[];
  leakedHandles: Handle[];
  usage: IpamUsage;
  checked: { blocks: number; allocations: number; inUse: number; handles?: number; pools: number; nodes: number; pods: number; unconfirmed: number };
}

/** The handle IPAM keeps Windows' reserved addresses under (libcalico-go ipam.WindowsReservedHandle). */
const WINDOWS_RESERVED = 'windows-reserved-ipam-handle';
/** A node's tunnel address types (the allocation's `type` attribute). */
const TUNNEL_TYPES = new Set(['ipipTunnelAddress', 'vxlanTunnelAddress', 'vxlanV6TunnelAddress', 'wireguardTunnelAddress', 'wireguardV6TunnelAddress']);

export async function checkIpam(input: CheckInput): Promise<IpamCheck> {
  const { now } = input;
  const allocations: Allocation[] = [];
  const byIP = new Map<string, Allocation[]>();
  const invalid: { block: string; reason: string }[] = [];
  for (const block of input.blocks) {
    const reason = validateBlock(block);
    if (reason) invalid.push({ block: block.name, reason });
    if (!block.network) continue;
    block.allocations.forEach((index, ordinal) => {
      if (index === null || index === undefined) return;
      const allocation = recordAllocation(block, ordinal, index);
      allocations.push(allocation);
      if (!byIP.has(allocation.ip)) byIP.set(allocation.ip, []);
      byIP.get(allocation.ip)!.push(allocation);
    });
  }
  const hold = (ip: string, owner: string) => {
    for (const a of byIP.get(ip) ?? []) {
      a.inUse = true;
      (a.owners ??= []).includes(owner) || a.owners.push(owner);
    }
  };
  for (const a of allocations) if (a.handle === WINDOWS_RESERVED) hold(a.ip, 'Reserved for Windows');
  for (const node of input.nodes) for (const ip of node.tunnelAddresses) hold(ip, `Node(${node.name})`);
  for (const pod of input.pods) for (const a of byIP.get(pod.ip) ?? []) hold(a.ip, workload(a.pod === pod.name ? a : undefined, pod.name));
  // A dual-stack pod's second address is not in the table's IP column, but shares the handle of its first.
  const heldHandles = new Map<string, string[]>();
  for (const a of allocations) if (a.inUse && a.handle && a.pod) heldHandles.set(a.handle, a.owners ?? []);
  for (const a of allocations) if (!a.inUse && a.handle && heldHandles.has(a.handle)) for (const owner of heldHandles.get(a.handle)!) hold(a.ip, owner);

  // Suspected leaks of pods: the pod itself says whether it holds the address (its status, or Calico's annotation
  // written before the kubelet reports it), one lookup per pod.
  const suspects = allocations.filter((a) => !a.inUse && !a.coolingDown && a.pod && a.namespace);
  const pods = [...new Set(suspects.map((a) => `${a.namespace}/${a.pod}`))];
  const confirmed = pods.slice(0, input.confirmLimit);
  const answers = await mapLimit(confirmed, 16, (key) => {
    const [namespace, name] = key.split('/') as [string, string];
    return input.podHolds(namespace, name);
  });
  const holds = new Map(confirmed.map((key, i) => [key, answers[i]]));
  for (const a of suspects) {
    const held = holds.get(`${a.namespace}/${a.pod}`);
    if (held?.includes(a.ip)) hold(a.ip, workload(a, a.pod!));
  }
  const released = input.recheck ? await releasedSince(input.blocks, suspects.filter((a) => !a.inUse && holds.has(`${a.namespace}/${a.pod}`)), input.recheck) : new Set<Allocation>();

  const usage = ipamUsage(input.pools, input.blocks, input.nodes);
  const findings: IpamFinding[] = [
    ...leakFindings(allocations.filter((a) => !released.has(a)), input, new Set(pods.slice(input.confirmLimit))),
    ...staleAffinityFindings(input, now),
    ...outsidePoolFindings(input),
    ...inUseNotAllocated(input, byIP),
    ...capacityFindings(usage),
  ];
  let leakedHandles: Handle[] = [];
  if (input.handles) {
    const referenced = new Set(allocations.map((a) => a.handle?.toLowerCase()).filter((h): h is string => h !== undefined));
    leakedHandles = input.handles.filter((h) => !referenced.has(h.handleID.toLowerCase()) && !referenced.has(h.name));
    if (leakedHandles.length) {
      const ages = leakedHandles.map((h) => ageOf(h.created, now));
      findings.push({
        id: 'leaked-handles', status: 'WARN', count: leakedHandles.length, ...oldest(ages),
        message: `${count(leakedHandles.length, 'IPAM handle')} without any allocation: they hold no address, only objects`,
        items: leakedHandles.map((h, i) => ({ HANDLE: h.handleID, AGE: ages[i] === undefined ? '<unknown>' : humanAge(ages[i]!) })),
        fix: 'kubectl calico ipam check --report report.json, then calicoctl ipam release --from-report report.json deletes them (it checks each is unchanged)',
      });
    }
    const known = new Set(input.handles.flatMap((h) => [h.handleID.toLowerCase(), h.name]));
    // Each missing handle's addresses, in one pass (a handle can name several: a dual-stack pod's two).
    const addressesOf = new Map<string, string[]>();
    for (const a of allocations) {
      if (a.handle === undefined || a.handle === WINDOWS_RESERVED || known.has(a.handle.toLowerCase())) continue;
      const ips = addressesOf.get(a.handle);
      if (ips) ips.push(a.ip);
      else addressesOf.set(a.handle, [a.ip]);
    }
    const missing = [...addressesOf.keys()];
    if (missing.length) {
      findings.push({
        id: 'missing-handles', status: 'WARN', count: missing.length,
        message: `${count(missing.length, 'handle')} named by allocations ${missing.length === 1 ? 'has' : 'have'} no IPAMHandle: releasing by handle does not find their addresses`,
        items: missing.map((h) => ({ HANDLE: h, ADDRESSES: addressesOf.get(h)!.join(',') })),
        fix: 'release the addresses themselves: calicoctl ipam release --ip <address>',
      });
    }
  }
  if (invalid.length) {
    findings.push({
      id: 'invalid-blocks', status: 'FAIL', count: invalid.length,
      message: `${count(invalid.length, 'IPAM block')} ${invalid.length === 1 ? 'is' : 'are'} inconsistent (calicoctl's validateBlock)`,
      items: invalid.map((b) => ({ BLOCK: b.block, PROBLEM: b.reason })),
      fix: 'report it to Calico with the block (kubectl get ipamblocks.crd.projectcalico.org <name> -o yaml); do not edit it by hand',
    });
  }
  const order: Severity[] = ['FAIL', 'WARN'];
  findings.sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
  return {
    allocations,
    findings,
    leakedHandles,
    usage,
    checked: {
      blocks: input.blocks.length, allocations: allocations.length, inUse: allocations.filter((a) => a.inUse).length,
      ...(input.handles ? { handles: input.handles.length } : {}), pools: input.pools.length, nodes: input.nodes.length, pods: input.pods.length,
      unconfirmed: Math.max(0, pods.length - input.confirmLimit),
    },
  };
}

/** recordAllocation: the owner from the attributes, the node from them or the block's affinity, borrowed when they differ. */
function recordAllocation(block: Block, ordinal: number, index: number): Allocation {
  const ip = addressAt(block.network!, ordinal);
  const affinity = block.affinity?.startsWith('host:') ? block.affinity.slice(5) : '';
  const attrs = block.attributes[index];
  const owner = attrs?.secondary ?? {};
  const node = owner.node || affinity;
  return {
    ip,
    ...(attrs?.handle_id ? { handle: attrs.handle_id } : {}),
    sequenceNumber: block.sequenceNumberForAllocation[String(ordinal)] ?? 0,
    ...(owner.pod ? { pod: owner.pod } : {}),
    ...(owner.namespace ? { namespace: owner.namespace } : {}),
    ...(node ? { node } : {}),
    ...(owner.type ? { type: owner.type } : {}),
    ...(owner.timestamp ? { creationTimestamp: owner.timestamp } : {}),
    inUse: false,
    ...(node !== affinity ? { borrowed: true } : {}),
    ...(attrs?.releasedAt ? { coolingDown: true } : {}),
    owners: null,
    block: block.cidr,
  };
}

function workload(allocation: Pick<Allocation, 'namespace'> | undefined, pod: string): string {
  return `Workload(${allocation?.namespace ? `${allocation.namespace}/` : ''}${pod})`;
}

/**
 * Leaks: allocated, and held by no pod and no node. calico-kube-controllers releases one after leakGracePeriod, and
 * the addresses of a node that no longer exists at once: only a leak younger than the period, on a node that is
 * still there, is left to it (WARN).
 */
function leakFindings(allocations: Allocation[], input: CheckInput, unconfirmedPods: Set<string>): IpamFinding[] {
  const grace = input.leakGrace.ms;
  const nodes = new Set(input.nodes.map((n) => n.name));
  const leaks = allocations.filter((a) => !a.inUse && !a.coolingDown).map((a) => ({ a, age: ageOf(a.creationTimestamp, input.now, true), gone: a.node !== undefined && !nodes.has(a.node) }));
  const young: typeof leaks = [];
  const old: typeof leaks = [];
  for (const l of leaks) (grace !== undefined && l.age !== undefined && l.age < grace && !l.gone ? young : old).push(l);
  const rows = (list: typeof leaks) => list.sort((x, y) => (y.age ?? Infinity) - (x.age ?? Infinity)).map(({ a, age }) => ({
    ADDRESS: a.ip,
    HANDLE: a.handle ?? '<none>',
    OWNER: a.pod ? `${a.namespace}/${a.pod}${unconfirmedPods.has(`${a.namespace}/${a.pod}`) ? ' (not looked up)' : ''}` : a.type && TUNNEL_TYPES.has(a.type) ? `${a.type} of ${a.node}` : a.type ?? '<none>',
    NODE: a.node ?? '<none>',
    ALLOCATED: age === undefined ? '<unknown>' : `${humanAge(age)} ago`,
  }));
  const out: IpamFinding[] = [];
  const release = 'kubectl calico ipam check --report report.json, then calicoctl ipam release --from-report report.json (lock the datastore first: calicoctl datastore migrate lock, or add --force)';
  if (old.length) {
    const reasons = grace === undefined
      ? [`calico-kube-controllers releases no leaks (leakGracePeriod ${input.leakGrace.text})`]
      : [
        ...(old.some((l) => !l.gone && l.age !== undefined) ? [`older than leakGracePeriod (${input.leakGrace.text})`] : []),
        ...(old.some((l) => l.gone) ? ['of deleted nodes (released at once)'] : []),
        ...(old.some((l) => !l.gone && l.age === undefined) ? ['of unknown age'] : []),
      ];
    out.push({
      id: 'leaked-addresses', status: 'FAIL', count: old.length, ...oldest(old.map((l) => l.age)),
      message: `${count(old.length, 'leaked address', 'leaked addresses')}: allocated, held by no pod or node, ${grace === undefined ? reasons[0] : `${reasons.join(' or ')}, so calico-kube-controllers should have released ${old.length === 1 ? 'it' : 'them'}`}`,
      items: rows(old),
      fix: `${release}; and find out why calico-kube-controllers did not: kubectl logs -n calico-system deploy/calico-kube-controllers`,
    });
  }
  if (young.length) {
    out.push({
      id: 'young-leaks', status: 'WARN', count: young.length, ...oldest(young.map((l) => l.age)),
      message: `${count(young.length, 'address', 'addresses')} held by no pod or node, younger than leakGracePeriod (${input.leakGrace.text}): calico-kube-controllers releases ${young.length === 1 ? 'it' : 'them'} itself once ${young.length === 1 ? 'it is' : 'they are'} older`,
      items: rows(young),
      fix: `nothing, unless they outlive leakGracePeriod; then: ${release}`,
    });
  }
  return out;
}

/** The suspects whose block no longer holds them (at their ordinal, under their handle): released since the blocks were read. */
async function releasedSince(blocks: Block[], suspects: Allocation[], recheck: (blockName: string) => Promise<Block | undefined>): Promise<Set<Allocation>> {
  const byCidr = new Map(blocks.map((b) => [b.cidr, b]));
  const names = [...new Set(suspects.map((a) => byCidr.get(a.block)!.name))];
  const reread = await mapLimit(names, 16, recheck);
  const now = new Map(names.map((name, i) => [name, reread[i]]));
  const released = new Set<Allocation>();
  for (const a of suspects) {
    const read = byCidr.get(a.block)!;
    const block = now.get(read.name);
    const ordinal = block?.network && read.network && block.cidr === read.cidr ? Number(parseAddress(a.ip)!.value - read.network.base) : -1;
    const index = ordinal >= 0 ? block!.allocations[ordinal] : undefined;
    const attributes = index === null || index === undefined ? undefined : block!.attributes[index];
    if (!attributes || attributes.handle_id !== a.handle) released.add(a);
  }
  return released;
}

/** Blocks affine to nodes the cluster no longer has (no pods needed: doctor's CAL-1203 reads only these three). */
export function staleAffinityFindings(input: Pick<CheckInput, 'affinities' | 'blocks' | 'nodes'>, now: number): IpamFinding[] {
  const nodes = new Set(input.nodes.map((n) => n.name));
  const stale = input.affinities.filter((a) => a.node && !nodes.has(a.node)).map((a) => ({ node: a.node, cidr: a.cidr, created: a.created, name: a.name }));
  const listed = new Set(stale.map((s) => s.cidr));
  for (const block of input.blocks) {
    const node = affineNode(block);
    if (node && !nodes.has(node) && !listed.has(block.cidr)) stale.push({ node, cidr: block.cidr, created: undefined, name: block.name });
  }
  if (stale.length === 0) return [];
  const byCidr = new Map(input.blocks.map((b) => [b.cidr, b]));
  const used = (cidr: string) => byCidr.get(cidr)?.allocations.filter((i) => i !== null && i !== undefined).length ?? 0;
  const ages = stale.map((s) => ageOf(s.created, now));
  const deleted = [...new Set(stale.map((s) => s.node))];
  return [{
    id: 'stale-affinities', status: 'FAIL', count: stale.length, ...oldest(ages),
    message: `${count(stale.length, 'block')} affine to ${deleted.length === 1 ? `node ${deleted[0]}, which` : `${deleted.length} nodes that`} no longer ${deleted.length === 1 ? 'exists' : 'exist'}: no other node can claim ${stale.length === 1 ? 'it' : 'them'}`,
    items: stale.map((s, i) => ({ BLOCK: s.cidr, NODE: s.node, ALLOCATED: String(used(s.cidr)), AGE: ages[i] === undefined ? '<unknown>' : humanAge(ages[i]!) })),
    fix: 'calico-kube-controllers releases a deleted node\'s addresses and blocks when it runs: check it (kubectl logs -n calico-system deploy/calico-kube-controllers); if it cannot, release the addresses with calicoctl ipam release --from-report and remove the node\'s affinities with calicoctl ipam release or by deleting its BlockAffinities',
  }];
}

/** Blocks with addresses in use that no enabled pool covers: a disabled pool (a migration under way) or none at all. */
function outsidePoolFindings(input: CheckInput): IpamFinding[] {
  const enabled = input.pools.filter((p) => !p.disabled && p.network);
  const out: IpamFinding[] = [];
  const inDisabled: Record<string, string>[] = [];
  const inNone: Record<string, string>[] = [];
  for (const block of input.blocks) {
    if (!block.network || enabled.some((p) => overlaps(p.network!, block.network!))) continue;
    const used = block.allocations.filter((i) => i !== null && i !== undefined).length;
    if (used === 0) continue;
    const disabled = input.pools.find((p) => p.network && overlaps(p.network, block.network!));
    (disabled ? inDisabled : inNone).push({ BLOCK: block.cidr, NODE: affineNode(block) ?? '<none>', ALLOCATED: String(used), POOL: disabled ? `${disabled.name} (disabled)` : '<none>' });
  }
  if (inDisabled.length) {
    const total = inDisabled.reduce((n, r) => n + Number(r.ALLOCATED), 0);
    out.push({ id: 'outside-pools', status: 'WARN', count: total, message: `${count(total, 'address', 'addresses')} in blocks of disabled pools: their pods keep them until they are recreated (a pool migration)`, items: inDisabled, fix: 'recreate the pods that still use the old pool (kubectl rollout restart …), then delete the disabled pool' });
  }
  if (inNone.length) {
    const total = inNone.reduce((n, r) => n + Number(r.ALLOCATED), 0);
    out.push({ id: 'outside-pools', status: 'FAIL', count: total, message: `${count(total, 'address', 'addresses')} in blocks inside no IP pool: the pool was deleted while they were in use`, items: inNone, fix: 'recreate the pods that hold them so they get addresses of an enabled pool; then release what is left with calicoctl ipam release --from-report' });
  }
  return out;
}

/** Addresses running pods hold inside an enabled pool with no allocation: IPAM can give them to another pod. */
function inUseNotAllocated(input: CheckInput, byIP: Map<string, Allocation[]>): IpamFinding[] {
  const enabled = input.pools.filter((p) => !p.disabled && p.network);
  const rows = input.pods.filter((p) => {
    if (p.status !== 'Running' || byIP.has(p.ip)) return false;
    const address = parseAddress(p.ip);
    return address !== undefined && enabled.some((pool) => containsAddress(pool.network!, address));
  }).map((p) => ({ ADDRESS: p.ip, POD: p.name }));
  if (rows.length === 0) return [];
  return [{
    id: 'in-use-not-allocated', status: 'FAIL', count: rows.length,
    message: `${count(rows.length, 'address', 'addresses')} running pods hold inside an enabled pool ${rows.length === 1 ? 'has' : 'have'} no IPAM allocation: IPAM can hand ${rows.length === 1 ? 'it' : 'them'} to another pod`,
    items: rows,
    fix: 'recreate those pods so that Calico IPAM allocates their addresses (kubectl delete pod …; their controllers make new ones)',
  }];
}

/** Pools full or short of blocks, from the usage alone (no pods: doctor's CAL-1201). */
export function capacityFindings(usage: IpamUsage): IpamFinding[] {
  const out: IpamFinding[] = [];
  for (const u of usage.pools) {
    const { exhausted, blocksShort, nearlyFull } = shortage(u);
    const row = { POOL: u.pool.name, CIDR: u.pool.cidr, 'IN USE': `${countText(u.addressesInUse)}/${countText(u.addressesPossible)}`, 'FREE BLOCKS': countText(freeBlocks(u)), 'NODES WITHOUT BLOCK': String(u.nodesWithoutBlock?.length ?? 0) };
    if (exhausted) out.push({ id: 'pool-exhausted', status: 'FAIL', count: 1, message: `IP pool ${u.pool.name} (${u.pool.cidr}) is exhausted: all ${countText(u.addressesPossible)} addresses are in use, so new pods get none ("failed to request IPv4 addresses")`.replace('IPv4', u.pool.network?.family === 6 ? 'IPv6' : 'IPv4'), items: [row], fix: 'add a pool (a new CIDR in the Installation\'s calicoNetwork.ipPools), or release leaked addresses; the block size of a pool cannot be changed in place' });
    else if (blocksShort) out.push({ id: 'blocks-short', status: 'WARN', count: u.nodesWithoutBlock!.length, message: `IP pool ${u.pool.name} has ${freeBlocks(u)} free ${freeBlocks(u) === 1n ? 'block' : 'blocks'} for ${count(u.nodesWithoutBlock!.length, 'node')} without one (${listNames(u.nodesWithoutBlock!)}): they will borrow addresses from other nodes' blocks, or get none with strictAffinity`, items: [row], fix: 'add a pool or use a smaller block size for new pools, so that every node gets a block' });
    else if (nearlyFull) out.push({ id: 'pool-nearly-full', status: 'WARN', count: 1, message: `IP pool ${u.pool.name} (${u.pool.cidr}) is over 90% used: ${countText(u.addressesInUse)} of ${countText(u.addressesPossible)} addresses`, items: [row], fix: 'add a pool before it runs out (the Installation\'s calicoNetwork.ipPools)' });
  }
  return out;
}

/** calicoctl's validateBlock: allocations point at attributes, every attribute is used, the free list is sound. */
export function validateBlock(block: Block): string | undefined {
  const seenAttributes = new Set<number>();
  const allocated = new Set<number>();
  for (let ordinal = 0; ordinal < block.allocations.length; ordinal++) {
    const index = block.allocations[ordinal];
    if (index === null || index === undefined) continue;
    if (index < 0 || index >= block.attributes.length) return `allocation ${ordinal} indexes a nonexistent attribute ${index}`;
    seenAttributes.add(index);
    allocated.add(ordinal);
  }
  for (let i = 0; i < block.attributes.length; i++) if (!seenAttributes.has(i)) return `attribute index ${i} exists but is not indexed by an allocation`;
  const free = new Set<number>();
  for (const ordinal of block.unallocated) {
    if (ordinal < 0 || ordinal >= block.allocations.length) return `ordinal ${ordinal} appears in the Unallocated array but is out of the block`;
    if (free.has(ordinal)) return `ordinal ${ordinal} appears more than once in Unallocated array`;
    if (allocated.has(ordinal)) return `ordinal ${ordinal} is allocated but appears in Unallocated`;
    free.add(ordinal);
  }
  const expected = block.network ? Number(1n << BigInt((block.network.family === 4 ? 32 : 128) - block.network.prefix)) : block.allocations.length;
  if (free.size + allocated.size !== expected) return `expected ${expected} addresses in this block, but Unallocated (${free.size}) + Allocated (${allocated.size}) = ${free.size + allocated.size}`;
  return undefined;
}

/** How old a time stamp (RFC 3339, or Go's time.String() with `goTime`) is, by the server's clock. */
function ageOf(stamp: string | undefined, now: number, goTime = false): number | undefined {
  if (!stamp) return undefined;
  const at = goTime ? parseGoTime(stamp) ?? Date.parse(stamp) : Date.parse(stamp);
  return Number.isNaN(at) ? undefined : Math.max(0, now - at);
}

function oldest(ages: (number | undefined)[]): { oldest?: string } {
  const known = ages.filter((a): a is number => a !== undefined);
  return known.length ? { oldest: humanAge(known.reduce((a, b) => Math.max(a, b))) } : {};
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

function listNames(names: string[]): string {
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}
