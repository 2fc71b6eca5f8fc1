// Calico IPAM as libcalico-go's lib/ipam runs it for its clients — the CNI
// plugin (pod addresses), calico-node (tunnel addresses) and
// calico-kube-controllers (garbage collection) — over the API server: IP
// pools cut into blocks of `blockSize`, a block claimed by a node through a
// BlockAffinity, each address recorded in its IPAMBlock and counted by an
// IPAMHandle, in the shapes libcalico-go's Kubernetes backend writes
// (crd.projectcalico.org/v1; ipam.go, ipam_block.go,
// ipam_block_reader_writer.go, k8s/resources/ipam_*.go, v3.29 with the
// later releases' additions). Where it simulates: one client runs at a time,
// so no compare-and-swap retries; a node's search for a free block starts at
// a hash of its name, not where Go's math/rand seeded with that hash would;
// block sequence numbers start at the clock's microseconds, not nanoseconds
// (JSON numbers here are doubles, exact only below 2^53).
//
// Also here: the node facts other models share (nodeInternalIP) and IPv4
// text helpers.
import { createHash } from 'node:crypto';
import { jsonCopy } from '../store.ts';
import type { KubeObject, NewObject } from '../types.ts';
import { selectsLabels } from '../dataplane/calico-selector.ts';
import { Index, type Runtime } from './runtime.ts';

export const POOLS = 'ippools.crd.projectcalico.org';
export const BLOCKS = 'ipamblocks.crd.projectcalico.org';
const AFFINITIES = 'blockaffinities.crd.projectcalico.org';
const HANDLES = 'ipamhandles.crd.projectcalico.org';
const CONFIGS = 'ipamconfigs.crd.projectcalico.org';
const API_VERSION = 'crd.projectcalico.org/v1';

export function nodeInternalIP(rt: Runtime, node: string): string {
  const object = rt.api.store.get('nodes', undefined, node);
  const addresses = (object?.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? [];
  return addresses.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
}

/**
 * The node's IPs as the kubelet reports them in a pod's hostIPs (nodeutil
 * GetNodeHostIPs): the first InternalIP, then the first InternalIP of the
 * other family if there is one.
 */
export function nodeInternalIPs(rt: Runtime, node: string): string[] {
  const object = rt.api.store.get('nodes', undefined, node);
  const internal = ((object?.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
  if (internal.length === 0) return ['127.0.0.1'];
  const other = internal.find((ip) => ip.includes(':') !== internal[0]!.includes(':'));
  return other ? [internal[0]!, other] : [internal[0]!];
}

/** The node's InternalIP of one family, if it has one. */
export function nodeInternalIPOf(rt: Runtime, node: string, family: 4 | 6): string | undefined {
  const object = rt.api.store.get('nodes', undefined, node);
  return ((object?.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).find((a) => a.type === 'InternalIP' && a.address.includes(':') === (family === 6))?.address;
}

export function parseV4(cidr: string): [number, number] {
  const [address = '0.0.0.0', bits = '32'] = cidr.split('/');
  const value = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  return [value, Number(bits)];
}

export function formatV4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

// ---- Addresses of both families, as Go's net package reads and prints them.

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The network address. */
  base: bigint;
  prefix: number;
}

const WIDTH = { 4: 32, 6: 128 } as const;

export function parseAddress(text: string): { family: Family; value: bigint } {
  if (!text.includes(':')) return { family: 4, value: text.split('.').reduce((n, octet) => n * 256n + BigInt(Number(octet)), 0n) };
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { family: 6, value: all.reduce((n, group) => (n << 16n) + BigInt(parseInt(group, 16)), 0n) };
}

/** RFC 5952, as Go prints an IPv6 address: the longest run of two or more zero groups (the first of equals) becomes `::`. */
export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let [start, length] = [-1, 0];
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > length && j - i >= 2) [start, length] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  return start < 0 ? hex(groups) : `${hex(groups.slice(0, start))}::${hex(groups.slice(start + length))}`;
}

export function parseCidr(text: string): Cidr {
  const [address = '', bits] = text.split('/');
  const { family, value } = parseAddress(address);
  const prefix = bits === undefined ? WIDTH[family] : Number(bits);
  const size = 1n << BigInt(WIDTH[family] - prefix);
  return { family, base: value - (value % size), prefix };
}

function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.base)}/${cidr.prefix}`;
}

function size(cidr: Cidr): bigint {
  return 1n << BigInt(WIDTH[cidr.family] - cidr.prefix);
}

function contains(cidr: Cidr, family: Family, value: bigint): boolean {
  return family === cidr.family && value >= cidr.base && value < cidr.base + size(cidr);
}

/** names.CIDRToName: `10.97.0.64/26` → `10-97-0-64-26`, `fd00:10:97::40/122` → `fd00-10-97--40-122`. */
export function cidrName(cidr: string): string {
  return cidr.replace(/[.:/]/g, '-');
}

// ---- The objects, as libcalico-go writes them.

interface AllocationAttribute {
  handle_id?: string;
  secondary?: Record<string, string>;
}

export interface BlockSpec {
  cidr: string;
  /** `host:<node>`; absent for a block no node owns. */
  affinity?: string;
  affinityClaimTime?: string;
  /** Per address of the block: the index of its attributes, or null when it is free. */
  allocations: (number | null)[];
  /** Free ordinals in the order they are handed out (released ones go to the end). */
  unallocated: number[];
  attributes: AllocationAttribute[];
  sequenceNumber: number;
  sequenceNumberForAllocation: Record<string, number>;
  deleted: boolean;
  strictAffinity: boolean;
}

interface AffinitySpec {
  cidr: string;
  node: string;
  state: 'confirmed' | 'pending' | 'pendingDeletion';
  /** A string: "compatibility with older releases that mistakenly treat this field as a string". */
  deleted: string;
  type?: string;
}

interface HandleSpec {
  handleID: string;
  block: Record<string, number>;
  deleted: boolean;
}

interface IpamConfigSpec {
  strictAffinity: boolean;
  autoAllocateBlocks: boolean;
  maxBlocksPerHost?: number;
}

interface PoolSpec {
  cidr: string;
  blockSize?: number;
  ipipMode?: string;
  vxlanMode?: string;
  disabled?: boolean;
  nodeSelector?: string;
  allowedUses?: string[];
  assignmentMode?: string;
}

export interface Pool {
  name: string;
  spec: PoolSpec;
  cidr: Cidr;
  blockSize: number;
}

function specOf<T>(object: KubeObject | undefined): T | undefined {
  return object?.spec as T | undefined;
}

// ---- Attribute keys and handles that clients write (model/block.go, allocateip.go, the CNI plugin).

export const ATTRIBUTE_NODE = 'node';
export const ATTRIBUTE_NAMESPACE = 'namespace';
export const ATTRIBUTE_POD = 'pod';
export const ATTRIBUTE_TYPE = 'type';
export const ATTRIBUTE_TIMESTAMP = 'timestamp';

/** Who writes, and which Calico release's libcalico-go (the shapes changed in 3.30, 3.31 and 3.32). */
export interface IpamClient {
  rt: Runtime;
  /** The field manager of its writes: the binary's name, as client-go's user agent makes it. */
  manager: string;
  /** The minor version of the Calico release (29 for v3.29.0). */
  release: number;
}

/** The Calico minor release of an image such as `docker.io/calico/cni:v3.29.0`. */
export function releaseOfImage(image: string | undefined): number {
  return Number(/:v3\.(\d+)\./.exec(image ?? '')?.[1] ?? 29);
}

const affinityIndexes = new WeakMap<Runtime, Index>();

/** BlockAffinities by node, as `List(BlockAffinityListOptions{Host})` reads them (in name order). */
function affinitiesOf(rt: Runtime, node: string): KubeObject[] {
  let index = affinityIndexes.get(rt);
  if (!index) affinityIndexes.set(rt, (index = new Index(rt.api.store, AFFINITIES, (a) => specOf<AffinitySpec>(a)?.node)));
  return index.get(node);
}

function create(client: IpamClient, key: string, object: { kind: string; metadata: NewObject['metadata']; spec: object }): KubeObject {
  return client.rt.api.create(client.rt.type(key), undefined, { apiVersion: API_VERSION, ...object }, { fieldManager: client.manager });
}

function update<T>(client: IpamClient, key: string, name: string, change: (spec: T) => void): KubeObject {
  return client.rt.api.mutate(client.rt.type(key), undefined, name, (object) => change(object.spec as T), { fieldManager: client.manager });
}

/** DeleteKVP: marked deleted first (the API has no compare-and-delete), then deleted. */
function remove(client: IpamClient, key: string, name: string, mark: (spec: Record<string, unknown>) => void): void {
  update<Record<string, unknown>>(client, key, name, mark);
  client.rt.api.delete(client.rt.type(key), undefined, name);
}

function blockOf(rt: Runtime, cidr: string): KubeObject | undefined {
  return rt.api.store.get(BLOCKS, undefined, cidrName(cidr));
}

function affinityName(node: string, cidr: string): string {
  const name = `${node}-${cidrName(cidr)}`;
  if (name.length < 253) return name;
  const hash = createHash('sha256').update(`${node}+${cidrName(cidr)}`).digest('hex').slice(0, 11);
  return `${node.slice(0, 252 - cidrName(cidr).length - 13)}-${cidrName(cidr)}-${hash}`;
}

function affinityOf(rt: Runtime, node: string, cidr: string): KubeObject | undefined {
  const affinity = rt.api.store.get(AFFINITIES, undefined, affinityName(node, cidr));
  return specOf<AffinitySpec>(affinity)?.deleted === 'true' ? undefined : affinity;
}

function handleOf(rt: Runtime, handleID: string): KubeObject | undefined {
  return rt.api.store.get(HANDLES, undefined, handleID.toLowerCase());
}

/** Pools parsed once per stored version (a stored object is never changed, only replaced). */
const parsedPools = new WeakMap<KubeObject, Pool>();

/** The IP pools a client sees: every pool, in name order, its block size defaulted. */
export function pools(rt: Runtime): Pool[] {
  return rt.api.store.list(POOLS).map((object) => {
    let pool = parsedPools.get(object);
    if (!pool) {
      const spec = object.spec as PoolSpec;
      const cidr = parseCidr(spec.cidr);
      parsedPools.set(object, (pool = { name: object.metadata.name, spec, cidr, blockSize: spec.blockSize ?? (cidr.family === 4 ? 26 : 122) }));
    }
    return pool;
  });
}

function enabledPools(rt: Runtime, family: Family): Pool[] {
  return pools(rt).filter((p) => !p.spec.disabled && p.cidr.family === family);
}

function allowedUses(pool: Pool): string[] {
  return pool.spec.allowedUses?.length ? pool.spec.allowedUses : ['Workload', 'Tunnel'];
}

function poolFor(list: Pool[], family: Family, value: bigint): Pool | undefined {
  return list.find((p) => contains(p.cidr, family, value));
}

function blockCidrFor(pool: Pool, value: bigint): string {
  const block = parseCidr(`${formatAddress(pool.cidr.family, value)}/${pool.blockSize}`);
  return formatCidr(block);
}

/** SelectsNode: the pool's nodeSelector against the node's labels. */
export function selectsNode(pool: Pool, labels: Record<string, string>): boolean {
  return selectsLabels(pool.spec.nodeSelector || 'all()', labels);
}

// ---- IPAMConfig.

/** GetIPAMConfig: the `default` IPAMConfig, created with the defaults when there is none. */
function ipamConfig(client: IpamClient): IpamConfigSpec {
  const existing = specOf<IpamConfigSpec>(client.rt.api.store.get(CONFIGS, undefined, 'default'));
  if (existing) return existing;
  const spec = { strictAffinity: false, autoAllocateBlocks: true, ...(client.release >= 32 ? { kubeVirtVMAddressPersistence: 'Enabled' } : {}) };
  create(client, CONFIGS, { kind: 'IPAMConfig', metadata: { name: 'default' }, spec });
  return spec;
}

// ---- A block's bookkeeping (ipam_block.go).

function ordinalToAddress(block: BlockSpec, ordinal: number): string {
  const cidr = parseCidr(block.cidr);
  return formatAddress(cidr.family, cidr.base + BigInt(ordinal));
}

function addressToOrdinal(block: BlockSpec, address: string): number {
  const cidr = parseCidr(block.cidr);
  return Number(parseAddress(address).value - cidr.base);
}

export function isEmpty(block: BlockSpec): boolean {
  return block.allocations.every((a) => a === null);
}

export function hostOf(block: BlockSpec): string {
  return block.affinity?.startsWith('host:') ? block.affinity.slice('host:'.length) : '';
}

function findOrAddAttribute(block: BlockSpec, handleID: string, attrs: Record<string, string>): number {
  const index = block.attributes.findIndex((a) => a.handle_id === handleID && sameAttrs(a.secondary, attrs));
  if (index >= 0) return index;
  block.attributes.push({ handle_id: handleID, secondary: sortedAttrs(attrs) });
  return block.attributes.length - 1;
}

function sameAttrs(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const keys = Object.keys(a ?? {});
  return keys.length === Object.keys(b).length && keys.every((k) => a![k] === b[k]);
}

function sortedAttrs(attrs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, attrs[k]!]));
}

/** deleteAttributes: drops attributes and renumbers the allocations' references to the rest. */
function deleteAttributes(block: BlockSpec, doomed: number[]): void {
  const renumbered: (number | null)[] = [];
  const kept: AllocationAttribute[] = [];
  block.attributes.forEach((attribute, i) => {
    if (doomed.includes(i)) renumbered.push(null);
    else renumbered.push(kept.push(attribute) - 1);
  });
  block.attributes = kept;
  block.allocations = block.allocations.map((a) => (a === null ? null : renumbered[a] ?? null));
}

/** allocationBlock.autoAssign: the given free ordinals (the first of `unallocated`), all under one attribute. */
function assignInBlock(block: BlockSpec, ordinals: number[], handleID: string, attrs: Record<string, string>): void {
  const index = findOrAddAttribute(block, handleID, attrs);
  for (const ordinal of ordinals) {
    block.allocations[ordinal] = index;
    block.sequenceNumberForAllocation[String(ordinal)] = block.sequenceNumber;
  }
  block.unallocated = block.unallocated.slice(ordinals.length);
}

// ---- Writes of blocks, affinities and handles (ipam_block_reader_writer.go).

/** updateBlock: every write of a block moves its sequence number on. */
function updateBlock(client: IpamClient, cidr: string, change: (block: BlockSpec) => void): BlockSpec {
  return update<BlockSpec>(client, BLOCKS, cidrName(cidr), (block) => {
    change(block);
    block.sequenceNumber += 1;
  }).spec as BlockSpec;
}

function deleteBlock(client: IpamClient, cidr: string): void {
  remove(client, BLOCKS, cidrName(cidr), (spec) => void (spec.deleted = true));
}

/** updateAffinity with a new state; one that is already so is not written (the API server would not store it again either). */
function setAffinityState(client: IpamClient, node: string, cidr: string, state: AffinitySpec['state']): void {
  if (specOf<AffinitySpec>(affinityOf(client.rt, node, cidr))?.state === state) return;
  update<AffinitySpec>(client, AFFINITIES, affinityName(node, cidr), (spec) => void (spec.state = state));
}

function deleteAffinity(client: IpamClient, node: string, cidr: string): void {
  remove(client, AFFINITIES, affinityName(node, cidr), (spec) => void (spec.deleted = 'true'));
}

/** getPendingAffinity: a new affinity in state pending (an existing unconfirmed one goes back to pending). */
function pendingAffinity(client: IpamClient, node: string, cidr: string): void {
  const existing = affinityOf(client.rt, node, cidr);
  if (existing) {
    if (specOf<AffinitySpec>(existing)!.state !== 'confirmed') setAffinityState(client, node, cidr, 'pending');
    return;
  }
  const family = cidr.includes(':') ? '6' : '4';
  const labels = client.release >= 31 ? { 'projectcalico.org/affinity-type': 'host', 'projectcalico.org/hostname-hash': hostnameHash(node), 'projectcalico.org/ip-version': family } : undefined;
  create(client, AFFINITIES, {
    kind: 'BlockAffinity',
    metadata: { name: affinityName(node, cidr), ...(labels ? { labels } : {}) },
    spec: { cidr, deleted: 'false', node, state: 'pending', ...(client.release >= 30 ? { type: 'host' } : {}) },
  });
}

/** hashHostnameForLabel: SHA3-256 of the name in unpadded base32 (a label value holds at most 63 characters). */
function hostnameHash(node: string): string {
  const bytes = createHash('sha3-256').update(node).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let [bits, value, out] = [0, 0, ''];
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return bits > 0 ? out + alphabet[(value << (5 - bits)) & 31] : out;
}

/** claimAffineBlock: the new block, affine to the node, then the affinity confirmed. */
function claimAffineBlock(client: IpamClient, node: string, cidr: string): BlockSpec {
  const block = parseCidr(cidr);
  const count = Number(size(block));
  const now = client.rt.clock.now();
  const object = create(client, BLOCKS, {
    kind: 'IPAMBlock',
    metadata: { name: cidrName(cidr) },
    spec: {
      cidr,
      affinity: `host:${node}`,
      ...(client.release >= 32 ? { affinityClaimTime: now.toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
      allocations: Array<null>(count).fill(null),
      unallocated: Array.from({ length: count }, (_, i) => i),
      attributes: [],
      sequenceNumber: now.getTime() * 1000,
      sequenceNumberForAllocation: {},
      deleted: false,
      strictAffinity: false,
    } satisfies BlockSpec,
  });
  setAffinityState(client, node, cidr, 'confirmed');
  return object.spec as BlockSpec;
}

/** getBlockFromAffinity: the affinity's block, created if missing; a stale affinity (block owned by another) is deleted. */
function blockFromAffinity(client: IpamClient, node: string, cidr: string): BlockSpec | undefined {
  const affinity = specOf<AffinitySpec>(affinityOf(client.rt, node, cidr))!;
  const block = specOf<BlockSpec>(blockOf(client.rt, cidr));
  if (!block) {
    setAffinityState(client, node, cidr, 'pending');
    ipamConfig(client);
    return claimAffineBlock(client, node, cidr);
  }
  if (block.affinity !== `host:${node}`) {
    deleteAffinity(client, node, cidr);
    return undefined;
  }
  if (affinity.state !== 'confirmed' && (affinity.state as string) !== '') {
    setAffinityState(client, node, cidr, 'pending');
    updateBlock(client, cidr, () => undefined);
    setAffinityState(client, node, cidr, 'confirmed');
  }
  return block;
}

function incrementHandle(client: IpamClient, handleID: string, cidr: string, num: number): void {
  if (!handleOf(client.rt, handleID)) {
    create(client, HANDLES, { kind: 'IPAMHandle', metadata: { name: handleID.toLowerCase() }, spec: { block: { [cidr]: num }, deleted: false, handleID } satisfies HandleSpec });
    return;
  }
  update<HandleSpec>(client, HANDLES, handleID.toLowerCase(), (spec) => void (spec.block[cidr] = (spec.block[cidr] ?? 0) + num));
}

function decrementHandle(client: IpamClient, handleID: string, cidr: string, num: number): void {
  const handle = specOf<HandleSpec>(handleOf(client.rt, handleID));
  const current = handle?.block[cidr];
  if (current === undefined || current - num < 0) return;
  const left = Object.keys(handle!.block).filter((k) => k !== cidr || current - num > 0);
  if (left.length === 0) {
    remove(client, HANDLES, handleID.toLowerCase(), (spec) => {
      delete (spec.block as Record<string, number>)[cidr];
      spec.deleted = true;
    });
    return;
  }
  update<HandleSpec>(client, HANDLES, handleID.toLowerCase(), (spec) => {
    if (current - num === 0) delete spec.block[cidr];
    else spec.block[cidr] = current - num;
  });
}

// ---- Assignment (ipam.go AutoAssign).

interface AutoAssignArgs {
  num4: number;
  num6: number;
  handleID: string;
  attrs: Record<string, string>;
  host: string;
  /** Requested pools (calico-node asks for its tunnel address from the pools of that encapsulation): node selectors are then ignored. */
  ipv4Pools?: string[];
  ipv6Pools?: string[];
  use: 'Workload' | 'Tunnel';
  /** The node's labels when it has no Node object (what a deleted node had). */
  nodeLabels?: Record<string, string>;
}

/** IPAMAssignments of one family. */
export interface Assignments {
  ips: string[];
  ipVersion: Family;
  numRequested: number;
  msgs: string[];
}

const ERR_BLOCK_LIMIT = 'cannot allocate new block due to per host block limit';
const ERR_NO_QUALIFIED_POOL = 'cannot find a qualified ippool';

/** AutoAssign: IPv4 first, then IPv6; an error stops it (a short assignment is not an error: see partialFulfillmentError). */
export function autoAssign(client: IpamClient, args: AutoAssignArgs): { v4?: Assignments; v6?: Assignments; error?: string } {
  const result: { v4?: Assignments; v6?: Assignments; error?: string } = {};
  if (args.num4 > 0) {
    const v4 = assignFamily(client, args, 4, args.num4, args.ipv4Pools);
    if ('error' in v4) return { ...(v4.partial ? { v4: v4.partial } : {}), error: v4.error };
    result.v4 = v4;
  }
  if (args.num6 > 0) {
    const v6 = assignFamily(client, args, 6, args.num6, args.ipv6Pools);
    if ('error' in v6) return { ...result, ...(v6.partial ? { v6: v6.partial } : {}), error: v6.error };
    result.v6 = v6;
  }
  return result;
}

/** PartialFulfillmentError's text, when fewer addresses were assigned than requested. */
export function partialFulfillmentError(a: Assignments): string | undefined {
  if (a.ips.length >= a.numRequested) return undefined;
  return [`Assigned ${a.ips.length} out of ${a.numRequested} requested IPv${a.ipVersion} addresses`, ...a.msgs].join('; ');
}

function addMsg(a: Assignments, msg: string): void {
  if (!a.msgs.includes(msg)) a.msgs.push(msg);
}

type FamilyResult = Assignments | { error: string; partial?: Assignments };

function assignFamily(client: IpamClient, args: AutoAssignArgs, family: Family, num: number, requested: string[] | undefined): FamilyResult {
  const { rt } = client;
  const host = args.host;
  const prepared = prepareAffinityBlocks(client, host, family, requested, args.use, args.nodeLabels);
  if ('error' in prepared) return prepared;
  const { pools: usable, blocks: affine } = prepared;
  let owned = affine.length;
  const config = ipamConfig(client);
  const maxBlocks = config.maxBlocksPerHost && config.maxBlocksPerHost > 0 ? config.maxBlocksPerHost : 20;
  const ia: Assignments = { ips: [], ipVersion: family, numRequested: num, msgs: [] };
  const remaining = [...affine];
  while (ia.ips.length < num) {
    const found = findOrClaimBlock(client, host, usable, remaining, owned < maxBlocks, config);
    if ('noFreeBlocks' in found) {
      if (config.strictAffinity) addMsg(ia, 'No more free affine blocks and strict affinity enabled');
      break;
    }
    if ('error' in found) {
      if (found.error === ERR_BLOCK_LIMIT) addMsg(ia, `Need to allocate an IPAM block but could not - limit of ${maxBlocks} blocks reached for this node`);
      return { error: found.error, partial: ia };
    }
    if (found.claimed) owned++;
    ia.ips.push(...assignFromExistingBlock(client, found.cidr, num - ia.ips.length, args.handleID, args.attrs));
  }
  if (!config.strictAffinity && ia.ips.length < num) {
    const exhausted: string[] = [];
    for (const pool of usable) {
      if (ia.ips.length >= num) break;
      // The block generator's walk over the pool, where only blocks that exist can lend an address.
      const existing = rt.api.store.list(BLOCKS).map((b) => b.spec as BlockSpec).filter((b) => contains(pool.cidr, family, parseCidr(b.cidr).base));
      const start = blockSearchStart(rt, pool, host);
      const count = blockCount(pool);
      const position = (b: BlockSpec) => ((blockIndex(pool, parseCidr(b.cidr).base) - start) % count + count) % count;
      for (const block of existing.sort((a, b) => (position(a) < position(b) ? -1 : 1))) {
        ia.ips.push(...assignFromExistingBlock(client, block.cidr, num - ia.ips.length, args.handleID, args.attrs));
        if (ia.ips.length >= num) break;
      }
      if (ia.ips.length < num) exhausted.push(pool.spec.cidr);
    }
    if (exhausted.length > 0) addMsg(ia, `No IPs available in pools: [${exhausted.join(' ')}]`);
  }
  return ia;
}

/** prepareAffinityBlocksForHost: the pools this request may use, and the node's affine blocks in them. */
function prepareAffinityBlocks(client: IpamClient, host: string, family: Family, requested: string[] | undefined, use: string, nodeLabels?: Record<string, string>): { pools: Pool[]; blocks: string[] } | { error: string } {
  const { rt } = client;
  const node = rt.api.store.get('nodes', undefined, host);
  if (!node && !nodeLabels) return { error: `resource does not exist: Node(${host}) with error: nodes "${host}" not found` };
  const labels = nodeLabels ?? node!.metadata.labels ?? {};
  const enabled = enabledPools(rt, family).filter((p) => p.blockSize <= WIDTH[family]);
  if (enabled.length === 0) return { error: ERR_NO_QUALIFIED_POOL };
  let selecting: Pool[];
  if (requested?.length) {
    selecting = [];
    for (const cidr of requested) {
      const pool = enabled.find((p) => formatCidr(p.cidr) === formatCidr(parseCidr(cidr)));
      if (!pool) return { error: `the given pool (${formatCidr(parseCidr(cidr))}) does not exist, or is not enabled` };
      selecting.push(pool);
    }
  } else {
    selecting = enabled.filter((p) => p.spec.assignmentMode !== 'Manual' && selectsNode(p, labels));
  }
  if (selecting.length === 0) return { error: `no configured Calico pools for node ${host}` };
  const usable = selecting.filter((p) => allowedUses(p).includes(use));
  if (usable.length === 0) return { error: `${ERR_NO_QUALIFIED_POOL}, no pools match the required use (${use})` };
  const affine = affinitiesOf(rt, host).map((a) => a.spec as AffinitySpec).filter((a) => a.deleted !== 'true' && parseCidr(a.cidr).family === family).map((a) => a.cidr);
  const inPool = (cidr: string, list: Pool[]) => poolFor(list, family, parseCidr(cidr).base) !== undefined;
  // Emptied blocks of pools that no longer select this node are given up.
  for (const cidr of affine.filter((c) => !inPool(c, usable) && !inPool(c, selecting))) {
    const pool = poolFor(enabled, family, parseCidr(cidr).base);
    if (pool && !selectsNode(pool, labels)) releaseBlockAffinity(client, host, cidr, true);
  }
  return { pools: usable, blocks: affine.filter((c) => inPool(c, usable)) };
}

type Found = { cidr: string; claimed: boolean } | { noFreeBlocks: true } | { error: string };

/** findOrClaimBlock: a free address in an affine block, else a new block claimed for the node. */
function findOrClaimBlock(client: IpamClient, host: string, usable: Pool[], remaining: string[], allowNewClaim: boolean, config: IpamConfigSpec): Found {
  while (remaining.length > 0) {
    const cidr = remaining.shift()!;
    if (!affinityOf(client.rt, host, cidr)) continue;
    const block = blockFromAffinity(client, host, cidr);
    if (block && block.unallocated.length >= 1) return { cidr, claimed: false };
  }
  if (!allowNewClaim) return { error: ERR_BLOCK_LIMIT };
  if (!config.autoAllocateBlocks) return { error: 'failed to find or claim a block' };
  for (let attempt = 0; attempt < 100; attempt++) {
    const cidr = findUsableBlock(client.rt, host, usable);
    if (!cidr) return { noFreeBlocks: true };
    pendingAffinity(client, host, cidr);
    const block = blockFromAffinity(client, host, cidr);
    if (!block) continue;
    if (block.unallocated.length >= 1) return { cidr, claimed: true };
    return { error: `Block '${cidr}' has ${block.unallocated.length} free ips which is less than 1 ips required.` };
  }
  return { error: 'Max retries hit - excessive concurrent IPAM requests' };
}

/** findUsableBlock: the first block of the walk that does not exist yet, or is the node's own with room. */
function findUsableBlock(rt: Runtime, host: string, usable: Pool[]): string | undefined {
  for (const pool of usable) {
    const count = blockCount(pool);
    const start = blockSearchStart(rt, pool, host);
    for (let i = 0n; i < count; i++) {
      const cidr = blockCidr(pool, (start + i) % count);
      const block = specOf<BlockSpec>(blockOf(rt, cidr));
      if (!block || (hostOf(block) === host && block.unallocated.length > 0)) return cidr;
    }
  }
  return undefined;
}

function blockCount(pool: Pool): bigint {
  return 1n << BigInt(pool.blockSize - pool.cidr.prefix);
}

function blockIndex(pool: Pool, base: bigint): bigint {
  return (base - pool.cidr.base) >> BigInt(WIDTH[pool.cidr.family] - pool.blockSize);
}

function blockCidr(pool: Pool, index: bigint): string {
  return formatCidr({ family: pool.cidr.family, base: pool.cidr.base + (index << BigInt(WIDTH[pool.cidr.family] - pool.blockSize)), prefix: pool.blockSize });
}

/**
 * randomBlockGenerator's start: seeded with the FNV-1 hash of the node's
 * name (so one node keeps returning to the same region of the pool), by
 * the clock for single-address blocks.
 */
function blockSearchStart(rt: Runtime, pool: Pool, host: string): bigint {
  if (pool.blockSize === WIDTH[pool.cidr.family]) return BigInt(rt.clock.now().getTime()) % blockCount(pool);
  let hash = 2166136261;
  for (const byte of Buffer.from(host)) hash = (Math.imul(hash, 16777619) ^ byte) >>> 0;
  return BigInt(hash) % blockCount(pool);
}

/**
 * assignFromExistingBlock: free addresses of one block, counted on the
 * handle (by the number asked for, as libcalico-go counts), then the block
 * written. Affinity is not checked: the blocks offered are the node's own,
 * or, when borrowing, any (which is only tried without strict affinity).
 */
function assignFromExistingBlock(client: IpamClient, cidr: string, num: number, handleID: string, attrs: Record<string, string>): string[] {
  const block = specOf<BlockSpec>(blockOf(client.rt, cidr))!;
  const ordinals = block.unallocated.slice(0, num);
  if (ordinals.length === 0) return [];
  incrementHandle(client, handleID, cidr, num);
  updateBlock(client, cidr, (b) => assignInBlock(b, ordinals, handleID, attrs));
  return ordinals.map((o) => ordinalToAddress(block, o));
}

// ---- Release.

/** ReleaseByHandle: every address of the handle; false when there is no such handle (ErrorResourceDoesNotExist). */
export function releaseByHandle(client: IpamClient, handleID: string): boolean {
  const handle = specOf<HandleSpec>(handleOf(client.rt, handleID));
  if (!handle) return false;
  for (const cidr of Object.keys(handle.block)) {
    const block = specOf<BlockSpec>(blockOf(client.rt, cidr));
    if (!block) continue;
    const doomed = block.attributes.flatMap((a, i) => (a.handle_id === handleID ? [i] : []));
    const ordinals = block.allocations.flatMap((a, o) => (a !== null && doomed.includes(a) ? [o] : []));
    if (ordinals.length === 0) continue;
    const release = (b: BlockSpec) => {
      deleteAttributes(b, doomed);
      for (const o of ordinals) b.allocations[o] = null;
      b.unallocated = [...b.unallocated, ...ordinals];
    };
    const after = jsonCopy(block);
    release(after);
    if (isEmpty(after) && after.affinity === undefined) deleteBlock(client, cidr);
    else updateBlock(client, cidr, release);
    decrementHandle(client, handleID, cidr, ordinals.length);
    ensureConsistentAffinity(client, after);
  }
  return true;
}

interface ReleaseOptions {
  address: string;
  handle?: string;
  sequenceNumber?: number;
}

/** ReleaseIPs: the given addresses; returns those that were not allocated (an error when the handle or sequence number does not match). */
export function releaseIPs(client: IpamClient, options: ReleaseOptions[]): { unallocated: string[] } | { error: string } {
  const { rt } = client;
  const byBlock = new Map<string, ReleaseOptions[]>();
  const unallocated: string[] = [];
  for (const option of options) {
    const { family, value } = parseAddress(option.address);
    const pool = poolFor(enabledPools(rt, family), family, value);
    const cidr = pool ? blockCidrFor(pool, value) : (rt.api.store.list(BLOCKS).map((b) => (b.spec as BlockSpec).cidr).find((c) => contains(parseCidr(c), family, value)));
    if (!cidr) {
      unallocated.push(option.address);
      continue;
    }
    byBlock.set(cidr, [...(byBlock.get(cidr) ?? []), option]);
  }
  for (const [cidr, list] of byBlock) {
    const block = specOf<BlockSpec>(blockOf(rt, cidr));
    if (!block) {
      unallocated.push(...list.map((o) => o.address));
      continue;
    }
    const after = jsonCopy(block);
    const released = releaseInBlock(after, list);
    if ('error' in released) return released;
    unallocated.push(...released.unallocated);
    if (released.unallocated.length === list.length) continue;
    if (isEmpty(after) && after.affinity === undefined) deleteBlock(client, cidr);
    else updateBlock(client, cidr, (b) => void releaseInBlock(b, list));
    for (const [handleID, count] of released.countByHandle) decrementHandle(client, handleID, cidr, count);
    ensureConsistentAffinity(client, after);
  }
  return { unallocated };
}

/** allocationBlock.release: checks handles and sequence numbers, drops attributes no longer referenced. */
function releaseInBlock(block: BlockSpec, options: ReleaseOptions[]): { unallocated: string[]; countByHandle: Map<string, number> } | { error: string } {
  const unique = new Map(options.map((o) => [o.address, o]));
  const unallocated: string[] = [];
  const ordinals: number[] = [];
  const releasedRefs = new Map<number, number>();
  const countByHandle = new Map<string, number>();
  for (const [address, option] of unique) {
    const ordinal = addressToOrdinal(block, address);
    const expected = block.sequenceNumberForAllocation[String(ordinal)] ?? 0;
    if (option.sequenceNumber !== undefined && option.sequenceNumber !== expected) {
      return { error: `update conflict: ${address}: requested sequence number ${option.sequenceNumber}, expected ${expected}` };
    }
    const index = block.allocations[ordinal];
    if (index === null || index === undefined) {
      unallocated.push(address);
      continue;
    }
    ordinals.push(ordinal);
    const handleID = block.attributes[index]?.handle_id ?? '';
    if (option.handle && handleID !== option.handle) return { error: `update conflict: ${address}: requested handle ${option.handle}, expected ${handleID}` };
    releasedRefs.set(index, (releasedRefs.get(index) ?? 0) + 1);
    // As libcalico-go counts it: one per handle and block, however many of its addresses go.
    if (handleID) countByHandle.set(handleID, 1);
  }
  const refs = new Map<number, number>();
  for (const a of block.allocations) if (a !== null) refs.set(a, (refs.get(a) ?? 0) + 1);
  const doomed = [...releasedRefs].filter(([index, count]) => refs.get(index) === count).map(([index]) => index);
  if (doomed.length > 0) deleteAttributes(block, doomed);
  for (const ordinal of ordinals) {
    block.allocations[ordinal] = null;
    block.unallocated.push(ordinal);
    delete block.sequenceNumberForAllocation[String(ordinal)];
  }
  return { unallocated, countByHandle };
}

/** ensureConsistentAffinity: a block whose pool no longer selects its node loses the affinity once empty. */
function ensureConsistentAffinity(client: IpamClient, block: BlockSpec): void {
  const host = hostOf(block);
  const node = host && client.rt.api.store.get('nodes', undefined, host);
  if (!node) return;
  const cidr = parseCidr(block.cidr);
  const pool = poolFor(enabledPools(client.rt, cidr.family), cidr.family, cidr.base);
  if (pool && !selectsNode(pool, node.metadata.labels ?? {})) releaseBlockAffinity(client, host, block.cidr, true);
}

/**
 * releaseBlockAffinity: the affinity goes pendingDeletion, the block is
 * deleted when empty or else loses its affinity, then the affinity is
 * deleted. Returns why not, if it did not.
 */
export function releaseBlockAffinity(client: IpamClient, host: string, cidr: string, requireEmpty: boolean): 'released' | 'not-found' | 'claimed-by-another' | 'not-empty' {
  if (!affinityOf(client.rt, host, cidr)) return 'not-found';
  const block = specOf<BlockSpec>(blockOf(client.rt, cidr));
  if (!block) return 'not-found';
  if (block.affinity !== undefined && block.affinity !== `host:${host}`) {
    deleteAffinity(client, host, cidr);
    return 'claimed-by-another';
  }
  if (requireEmpty && !isEmpty(block)) return 'not-empty';
  setAffinityState(client, host, cidr, 'pendingDeletion');
  if (isEmpty(block)) deleteBlock(client, cidr);
  else {
    updateBlock(client, cidr, (b) => {
      delete b.affinity;
      delete b.affinityClaimTime;
    });
  }
  deleteAffinity(client, host, cidr);
  return 'released';
}

/** ReleaseHostAffinities: every block affinity of the node, IPv4 then IPv6. */
export function releaseHostAffinities(client: IpamClient, host: string, mustBeEmpty: boolean): void {
  for (const family of [4, 6] as const) {
    const cidrs = affinitiesOf(client.rt, host).map((a) => (a.spec as AffinitySpec)).filter((a) => a.deleted !== 'true' && parseCidr(a.cidr).family === family).map((a) => a.cidr);
    for (const cidr of cidrs) releaseBlockAffinity(client, host, cidr, mustBeEmpty);
  }
}

/** GetAssignmentAttributes: the attributes and handle of an allocated address (undefined: ErrorResourceDoesNotExist). */
export function assignmentAttributes(rt: Runtime, address: string): { attrs: Record<string, string>; handle?: string } | undefined {
  const { family, value } = parseAddress(address);
  const pool = poolFor(enabledPools(rt, family), family, value);
  if (!pool) return undefined;
  const block = specOf<BlockSpec>(blockOf(rt, blockCidrFor(pool, value)));
  const index = block?.allocations[addressToOrdinal(block, address)];
  if (!block || index === null || index === undefined) return undefined;
  const attribute = block.attributes[index];
  return { attrs: attribute?.secondary ?? {}, ...(attribute?.handle_id ? { handle: attribute.handle_id } : {}) };
}

/** Whether `address` lies in one of `cidrs`. */
export function inCidrs(address: string, cidrs: string[]): boolean {
  const { family, value } = parseAddress(address);
  return cidrs.some((c) => contains(parseCidr(c), family, value));
}

/** The address at `ordinal` of a block, as the garbage collector reads allocations. */
export function blockAddress(block: BlockSpec, ordinal: number): string {
  return ordinalToAddress(block, ordinal);
}
