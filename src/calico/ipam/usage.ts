// How full each IP pool is, counted as calicoctl's `ipam show` counts it
// (libcalico-go ipam.go GetUtilization): a block belongs to the first pool
// it overlaps; a block's addresses in use are its size less its unallocated
// ordinals; a pool's possible addresses are its whole CIDR. A borrowed
// address is one allocated to another node than the block's (calicoctl's
// getBorrowedIPs). Then whether each pool has a block left for every node
// it selects that has none yet.
import { parseSelector, SelectorError } from '../selector.ts';
import { overlaps, size, subnets } from '../cidr.ts';
import type { Block, IpamNode, Pool } from './read.ts';

export interface BlockUsage {
  cidr: string;
  /** The node the block is affine to; undefined for a block no node owns. */
  node?: string;
  inUse: number;
  size: number;
  borrowed: number;
}

export interface PoolUsage {
  pool: Pool;
  blocks: BlockUsage[];
  blocksPossible: bigint;
  addressesInUse: bigint;
  addressesPossible: bigint;
  /** Free addresses inside the pool's blocks. */
  freeInBlocks: bigint;
  /** Nodes this pool selects that have no block of their address family yet; undefined for a disabled pool. */
  nodesWithoutBlock: string[] | undefined;
  /** The pool's nodeSelector could not be read: every node was counted. */
  selectorError?: string;
}

export interface IpamUsage {
  pools: PoolUsage[];
  /** Blocks inside no pool. */
  orphanedBlocks: BlockUsage[];
}

/** The node a block is affine to, from its `host:<node>` affinity. */
export function affineNode(block: Pick<Block, 'affinity'>): string | undefined {
  if (!block.affinity) return undefined;
  return block.affinity.startsWith('host:') ? block.affinity.slice(5) : block.affinity;
}

export function blockUsage(block: Block): BlockUsage {
  const node = affineNode(block);
  const blockSize = block.network ? Number(size(block.network)) : block.allocations.length;
  let borrowed = 0;
  for (const index of block.allocations) {
    if (index === null || index === undefined) continue;
    const owner = block.attributes[index]?.secondary?.node;
    if (owner !== undefined && owner !== (node ?? '')) borrowed++;
  }
  return { cidr: block.cidr, ...(node !== undefined ? { node } : {}), inUse: blockSize - block.unallocated.length, size: blockSize, borrowed };
}

export function ipamUsage(pools: Pool[], blocks: Block[], nodes: IpamNode[]): IpamUsage {
  const usage: PoolUsage[] = pools.map((pool) => ({
    pool, blocks: [], blocksPossible: pool.network ? subnets(pool.network, pool.blockSize) : 0n,
    addressesInUse: 0n, addressesPossible: pool.network ? size(pool.network) : 0n, freeInBlocks: 0n, nodesWithoutBlock: undefined,
  }));
  const orphaned: BlockUsage[] = [];
  const nodesWithBlock = { 4: new Set<string>(), 6: new Set<string>() };
  for (const block of [...blocks].sort(byAddress)) {
    const used = blockUsage(block);
    const owner = usage.find((u) => u.pool.network && block.network && overlaps(u.pool.network, block.network));
    if (block.network && used.node) nodesWithBlock[block.network.family].add(used.node);
    if (!owner) {
      orphaned.push(used);
      continue;
    }
    owner.blocks.push(used);
    owner.addressesInUse += BigInt(used.inUse);
    owner.freeInBlocks += BigInt(used.size - used.inUse);
  }
  for (const u of usage) {
    if (u.pool.disabled || !u.pool.network) continue;
    let selected = nodes;
    try {
      const matches = parseSelector(u.pool.nodeSelector);
      selected = nodes.filter((n) => matches(n.labels));
    } catch (error) {
      if (!(error instanceof SelectorError)) throw error;
      u.selectorError = error.message;
    }
    const have = nodesWithBlock[u.pool.network.family];
    u.nodesWithoutBlock = selected.filter((n) => !have.has(n.name)).map((n) => n.name);
  }
  return { pools: usage, orphanedBlocks: orphaned };
}

/** Blocks this pool can still hand out. */
export function freeBlocks(u: PoolUsage): bigint {
  const free = u.blocksPossible - BigInt(u.blocks.length);
  return free > 0n ? free : 0n;
}

/** What is short in a pool: nothing left at all, or fewer free blocks than nodes still without one. */
export function shortage(u: PoolUsage): { exhausted: boolean; blocksShort: boolean; nearlyFull: boolean } {
  const free = u.addressesPossible - u.addressesInUse;
  const exhausted = !u.pool.disabled && u.addressesPossible > 0n && freeBlocks(u) === 0n && u.freeInBlocks === 0n;
  const blocksShort = !u.pool.disabled && u.nodesWithoutBlock !== undefined && BigInt(u.nodesWithoutBlock.length) > freeBlocks(u);
  const nearlyFull = !exhausted && !u.pool.disabled && u.addressesPossible > 0n && free * 10n < u.addressesPossible;
  return { exhausted, blocksShort, nearlyFull };
}

/** Blocks by address: IPv4 first, then numerically; unparsable ones last. */
function byAddress(a: Block, b: Block): number {
  if (!a.network || !b.network) return a.network ? -1 : b.network ? 1 : 0;
  if (a.network.family !== b.network.family) return a.network.family - b.network.family;
  return a.network.base < b.network.base ? -1 : a.network.base > b.network.base ? 1 : 0;
}
