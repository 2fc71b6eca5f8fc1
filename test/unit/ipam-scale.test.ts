// ipam check on 2,000 nodes with every address leaked and no IPAMHandle:
// 128,000 allocations. The findings a user reads (counts, the first rows,
// each missing handle's addresses) are asserted. It takes ~3 s in linear
// passes; a quadratic one (leaks × young leaks, or missing handles ×
// allocations: ~10^10 steps) ran for more than 5 minutes, which the test
// run's duration shows: speed is not asserted here (bench/ holds targets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetwork } from '../../src/calico/cidr.ts';
import { checkIpam } from '../../src/calico/ipam/check.ts';
import type { Block, IpamNode } from '../../src/calico/ipam/read.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const goTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 10)} ${new Date(ms).toISOString().slice(11, 23)} +0000 UTC`;

test('2,000 nodes × 64 leaked addresses, half younger than leakGracePeriod, no IPAMHandle: every finding, counted and named', async () => {
  const nodes: IpamNode[] = [];
  const blocks: Block[] = [];
  for (let n = 0; n < 2000; n++) {
    const node = `node-${n}`;
    nodes.push({ name: node, labels: {}, tunnelAddresses: [] });
    const cidr = `10.${96 + (n >> 10)}.${(n >> 2) & 255}.${(n & 3) * 64}/26`;
    const attributes = Array.from({ length: 64 }, (_, i) => ({
      handle_id: `k8s-pod-network.${n}-${i}`,
      secondary: { namespace: 'default', pod: `p-${n}-${i}`, node, timestamp: goTime(NOW - (i % 2 ? 60_000 : 3_600_000)) },
    }));
    blocks.push({ name: cidr.replace(/[./]/g, '-'), cidr, network: parseNetwork(cidr), affinity: `host:${node}`, allocations: attributes.map((_, i) => i), unallocated: [], attributes, sequenceNumberForAllocation: {} });
  }
  const check = await checkIpam({
    pools: [{ name: 'default-ipv4-ippool', cidr: '10.96.0.0/14', network: parseNetwork('10.96.0.0/14'), blockSize: 26, disabled: false, nodeSelector: 'all()' }],
    blocks, affinities: [], handles: [], nodes, pods: [], leakGrace: { ms: 15 * 60_000, text: '15m0s' }, now: NOW,
    podHolds: async () => undefined, confirmLimit: 0,
  });
  const byId = new Map(check.findings.map((f) => [f.id, f]));
  assert.deepEqual([...byId.values()].map((f) => [f.id, f.status, f.count]), [['leaked-addresses', 'FAIL', 64_000], ['young-leaks', 'WARN', 64_000], ['missing-handles', 'WARN', 128_000]]);
  assert.deepEqual(byId.get('missing-handles')!.items[0], { HANDLE: 'k8s-pod-network.0-0', ADDRESSES: '10.96.0.0' });
  assert.equal(byId.get('leaked-addresses')!.oldest, '60m');
  assert.equal(check.checked.unconfirmed, 128_000, 'no pod looked up beyond the limit');
});
