// How `ipam show` and `ipam check` read, as text and as documents.
import type { Palette } from '../../print/color.ts';
import { tabwrite } from '../../print/table.ts';
import { LIST_CAP } from '../status.ts';
import { countText, jsonCount, percent } from './counts.ts';
import type { IpamFinding } from './check.ts';
import type { IpamCheckReport } from './collect.ts';
import { freeBlocks, shortage, type BlockUsage, type IpamUsage, type PoolUsage } from './usage.ts';

/** The warnings `ipam show` gives: a pool that is full, or short of blocks for the nodes without one. */
export function usageWarnings(usage: IpamUsage): string[] {
  return usage.pools.flatMap((u) => {
    const { exhausted, blocksShort, nearlyFull } = shortage(u);
    const warnings: string[] = [];
    if (exhausted) warnings.push(`IP pool ${u.pool.name} is exhausted: all ${countText(u.addressesPossible)} addresses are in use (kubectl calico ipam check)`);
    if (blocksShort) warnings.push(`IP pool ${u.pool.name} has ${freeBlocks(u)} free ${freeBlocks(u) === 1n ? 'block' : 'blocks'} for ${u.nodesWithoutBlock!.length} ${u.nodesWithoutBlock!.length === 1 ? 'node' : 'nodes'} without one: they will borrow other nodes' addresses, or get none with strictAffinity`);
    if (nearlyFull) warnings.push(`IP pool ${u.pool.name} is over 90% used (${countText(u.addressesInUse)} of ${countText(u.addressesPossible)} addresses)`);
    if (u.selectorError) warnings.push(`IP pool ${u.pool.name}: ${u.selectorError}; every node was counted`);
    return warnings;
  });
}

export function renderUsage(usage: IpamUsage, showBlocks: boolean): string {
  const out: string[] = [];
  const rows = usage.pools.map((u) => [
    u.pool.disabled ? `${u.pool.name} (disabled)` : u.pool.name,
    u.pool.cidr,
    String(u.pool.blockSize),
    `${u.blocks.length}/${countText(u.blocksPossible)}`,
    `${countText(u.addressesInUse)}/${countText(u.addressesPossible)}`,
    percent(u.addressesInUse, u.addressesPossible),
  ]);
  out.push(rows.length ? tabwrite([['NAME', 'CIDR', 'BLOCK SIZE', 'BLOCKS', 'ADDRESSES', 'USE'], ...rows]) : 'No IP pools found.\n');
  if (showBlocks) {
    for (const u of usage.pools) out.push(`\nBlocks of ${u.pool.name}:\n${blockTable(u.blocks)}`);
    if (usage.orphanedBlocks.length) out.push(`\nBlocks in no IP pool:\n${blockTable(usage.orphanedBlocks)}`);
  } else if (usage.orphanedBlocks.length) {
    out.push(`\n${usage.orphanedBlocks.length} blocks are in no IP pool (--show-blocks lists them)\n`);
  }
  return out.join('');
}

function blockTable(blocks: BlockUsage[]): string {
  if (blocks.length === 0) return 'No blocks allocated.\n';
  return tabwrite([['BLOCK', 'NODE', 'IN USE', 'BORROWED'], ...blocks.map((b) => [b.cidr, b.node ?? '<none>', `${b.inUse}/${b.size}`, String(b.borrowed)])]);
}

function poolDoc(u: PoolUsage, showBlocks: boolean): object {
  return {
    name: u.pool.name,
    cidr: u.pool.cidr,
    blockSize: u.pool.blockSize,
    disabled: u.pool.disabled,
    blocks: { allocated: u.blocks.length, possible: jsonCount(u.blocksPossible), free: jsonCount(freeBlocks(u)) },
    addresses: { inUse: jsonCount(u.addressesInUse), possible: jsonCount(u.addressesPossible) },
    use: percent(u.addressesInUse, u.addressesPossible),
    borrowed: u.blocks.reduce((n, b) => n + b.borrowed, 0),
    ...(u.nodesWithoutBlock ? { nodesWithoutBlock: u.nodesWithoutBlock } : {}),
    ...(showBlocks ? { blockList: u.blocks } : {}),
  };
}

/** The IpamUsage document: every pool, and with --show-blocks every block. */
export function machineUsage(usage: IpamUsage, showBlocks: boolean): object {
  return {
    pools: usage.pools.map((u) => poolDoc(u, showBlocks)),
    ...(usage.orphanedBlocks.length ? { orphanedBlocks: usage.orphanedBlocks } : {}),
  };
}

export function renderCheck({ check, leakGrace }: IpamCheckReport, colors: Palette): string {
  const c = check.checked;
  const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
  const handles = c.handles !== undefined ? `, ${n(c.handles, 'handle')}` : '';
  const out: string[] = [`Checked ${n(c.blocks, 'IPAM block')} (${n(c.allocations, 'allocation')}, ${c.inUse} held by pods and nodes)${handles}, ${n(c.pools, 'IP pool')}, ${n(c.nodes, 'node')} and ${n(c.pods, "pod's address", "pods' addresses")}; leakGracePeriod ${leakGrace}.\n`];
  if (check.findings.length === 0) {
    out.push(`\n${colors.good('No problems found.')}\n`);
    return out.join('');
  }
  for (const f of check.findings) out.push(`\n${renderFinding(f, colors)}`);
  const fail = check.findings.filter((f) => f.status === 'FAIL').length;
  const warn = check.findings.length - fail;
  out.push(`\n${[fail ? colors.bad(`${fail} FAIL`) : '', warn ? colors.warn(`${warn} WARN`) : ''].filter(Boolean).join(', ')}\n`);
  return out.join('');
}

function renderFinding(f: IpamFinding, colors: Palette): string {
  const status = f.status === 'FAIL' ? colors.bad(f.status) : colors.warn(f.status);
  const lines = [`${status}  ${f.message}${f.oldest ? ` (oldest ${f.oldest})` : ''}\n`];
  if (f.items.length) {
    const shown = f.items.slice(0, LIST_CAP);
    const columns = Object.keys(f.items[0]!);
    lines.push(tabwrite([columns, ...shown.map((item) => columns.map((k) => item[k] ?? ''))]).replace(/^(?=.)/gm, '      '));
    if (f.items.length > shown.length) lines.push(`      … and ${f.items.length - shown.length} more (-o json lists every one)\n`);
  }
  lines.push(`      fix: ${f.fix}\n`);
  return lines.join('');
}

/** The IpamCheck document: what was checked and every finding with every member. */
export function machineCheck({ check, leakGrace }: IpamCheckReport): object {
  const fail = check.findings.filter((f) => f.status === 'FAIL').length;
  return { leakGracePeriod: leakGrace, checked: check.checked, findings: check.findings, summary: { fail, warn: check.findings.length - fail } };
}
