// `kubectl calico ipam show|check` and doctor's IPAM checks through real
// kubectl against the test cluster's Calico IPAM: the figures equal what the
// IPAM objects hold (borrowed addresses included); a leak before and after
// leakGracePeriod, a deleted node's block and an exhausted pool are found by
// both; the report is calicoctl's; with the garbage collector running a
// healthy cluster shows none. The clock is real: ages are judged by the API
// server's Date, which the test cluster writes in wall time.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { TestCluster } from '../cluster/cluster.ts';
import { cleanEnv, eventually, kubectl, kubectlFor, run, tempDir, withCluster } from '../helpers.ts';

interface Block {
  cidr: string;
  affinity?: string;
  allocations: (number | null)[];
  unallocated: number[];
  attributes: { handle_id?: string; secondary?: Record<string, string> }[];
}

function setup(cluster: TestCluster & { kubeconfigPath: string }) {
  const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
  const k = (...args: string[]) => kubectl(args, env);
  const calico = (...args: string[]) => k('calico', ...args);
  /**
   * What the IPAM objects hold, as `kubectl get ipamblocks -o yaml` shows them, counted here without the plugin's
   * code: blocks, addresses in use, borrowed (allocated to another node than the block's), each block's row.
   */
  const objects = async (family?: 4 | 6) => {
    const listed = await k('get', 'ipamblocks.crd.projectcalico.org', '-o', 'yaml');
    assert.equal(listed.code, 0, listed.stderr);
    const blocks = ((parse(listed.stdout) as { items: { spec: Block }[] }).items).map((b) => b.spec)
      .filter((b) => family === undefined || b.cidr.includes(':') === (family === 6));
    const used = (b: Block) => b.allocations.filter((a) => a !== null).length;
    const lent = (b: Block) => b.allocations.filter((a) => a !== null && `host:${b.attributes[a]!.secondary?.node}` !== b.affinity).length;
    const inUse = blocks.reduce((n, b) => n + used(b), 0);
    const borrowed = blocks.reduce((n, b) => n + lent(b), 0);
    const rows = new Map(blocks.map((b) => [b.cidr, { cidr: b.cidr, node: b.affinity!.slice(5), inUse: used(b), size: b.allocations.length, borrowed: lent(b) }]));
    return { blocks, inUse, borrowed, rows };
  };
  const checks = async (...ids: string[]) => {
    const doctor = JSON.parse((await calico('doctor', '--check', ids.join(','), '-o', 'json')).stdout) as { checks: { id: string; status: string; finding: string }[] };
    return Object.fromEntries(doctor.checks.map((c) => [c.id, `${c.status} ${c.finding}`]));
  };
  return { k, calico, objects, checks };
}

test('ipam show figures are the objects\'; a leak younger than leakGracePeriod WARNs, older FAILs, in ipam check and doctor; the report is calicoctl\'s; the garbage collector running leaves none', async () => {
  await withCluster({ calico: 'v3.29.0', ipamFaults: { gcStopped: true, leakingPods: ['default/leaky'] } }, async (cluster) => {
    const { k, calico, objects, checks } = setup(cluster);
    const show = await calico('ipam', 'show', '-o', 'json');
    assert.equal(show.code, 0, show.stderr);
    const held = await objects();
    const pool = JSON.parse(show.stdout).pools[0];
    assert.deepEqual(pool, {
      name: 'default-ipv4-ippool', cidr: '10.97.0.0/16', blockSize: 26, disabled: false,
      blocks: { allocated: held.blocks.length, possible: 1024, free: 1024 - held.blocks.length }, addresses: { inUse: held.inUse, possible: 65536 },
      use: '<1%', borrowed: held.borrowed, nodesWithoutBlock: [],
    });
    const text = await calico('ipam');
    assert.equal(text.stdout, `NAME                  CIDR           BLOCK SIZE   BLOCKS   ADDRESSES   USE\ndefault-ipv4-ippool   10.97.0.0/16   26           ${held.blocks.length}/1024   ${held.inUse}/65536    <1%\n`);
    assert.equal((await calico('ipam', 'check')).code, 0);

    assert.equal((await k('run', 'leaky', '--image', 'nginx')).code, 0);
    const ip = await eventually(async () => (await k('get', 'pod', 'leaky', '-o', 'jsonpath={.status.podIP}')).stdout || undefined);
    assert.equal((await k('delete', 'pod', 'leaky')).code, 0);

    const young = await calico('ipam', 'check', '-o', 'json');
    assert.equal(young.code, 0, 'a young leak is calico-kube-controllers\' to release');
    const findings = JSON.parse(young.stdout).findings as { id: string; status: string; items: Record<string, string>[]; message: string }[];
    assert.deepEqual(findings.map((f) => [f.id, f.status, f.items.map((i) => [i.ADDRESS, i.OWNER])]), [['young-leaks', 'WARN', [[ip, 'default/leaky']]]]);
    assert.match(findings[0]!.items[0]!.HANDLE!, /^k8s-pod-network\.[0-9a-f]{64}$/);
    assert.match(findings[0]!.message, /^1 address held by no pod or node, younger than leakGracePeriod \(15m[^)]*\): calico-kube-controllers releases it itself once it is older$/);
    const doctorYoung = await checks('CAL-1201', 'CAL-1202', 'CAL-1203');
    assert.deepEqual(Object.values(doctorYoung).map((c) => c.split(' ')[0]), ['PASS', 'WARN', 'PASS']);
    assert.match(doctorYoung['CAL-1202']!, new RegExp(`: ${ip.replaceAll('.', '\\.')} \\(default/leaky, kubernetes-worker-0[12]\\)$`));

    // calicoctl's report: every allocation, the leak not in use, for calicoctl ipam release --from-report.
    const file = path.join(tempDir('report-'), 'ipam-report.json');
    const reported = await calico('ipam', 'check', '--report', file);
    assert.match(reported.stderr, /^Warning: there is no ClusterInformation "default": /, 'the test cluster has none (a real Calico always has one)');
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(Object.keys(report), ['version', 'clusterGUID', 'datastoreLocked', 'clusterInformationRevision', 'clusterType', 'allocations']);
    assert.equal(report.version, 'v3.29.0');
    const entries = Object.values(report.allocations).flat() as { ip: string; pod?: string; namespace?: string; inUse: boolean; owners: string[] | null; sequenceNumber: number }[];
    assert.equal(entries.length, held.inUse + 1);
    assert.deepEqual(entries.filter((a) => !a.inUse).map((a) => [a.ip, a.pod, a.namespace, a.owners]), [[ip, 'leaky', 'default', null]]);
    assert.ok(entries.every((a) => Number.isInteger(a.sequenceNumber) && (!a.inUse || a.owners!.length === 1)));

    // leakGracePeriod shortened: the same leak is now past it, and nothing releases it.
    const configuration = 'apiVersion: crd.projectcalico.org/v1\nkind: KubeControllersConfiguration\nmetadata:\n  name: default\nspec:\n  controllers:\n    node:\n      leakGracePeriod: 1s\n';
    const applied = await run(kubectlFor([], { KUBECONFIG: cluster.kubeconfigPath }), ['apply', '-f', '-'], { env: cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }), input: configuration });
    assert.equal(applied.code, 0, applied.stderr);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const old = await calico('ipam', 'check');
    assert.equal(old.code, 1);
    assert.match(old.stdout, new RegExp(`\\nFAIL {2}1 leaked address: allocated, held by no pod or node, older than leakGracePeriod \\(1s\\), so calico-kube-controllers should have released it \\(oldest \\d+s\\)\\n {6}ADDRESS +HANDLE +OWNER +NODE +ALLOCATED\\n {6}${ip.replaceAll('.', '\\.')} +k8s-pod-network\\.[0-9a-f]{64} +default/leaky +kubernetes-worker-0[12] +\\d+s ago\\n {6}fix: kubectl calico ipam check --report report\\.json, then calicoctl ipam release --from-report report\\.json`));
    assert.match((await checks('CAL-1202'))['CAL-1202']!, /^FAIL 1 leaked address: .*older than leakGracePeriod \(1s\)/);

    // The collector running again releases the leak at its first sync after leakGracePeriod.
    cluster.runtime.ipamFaults.gcStopped = false;
    const clean = await eventually(async () => {
      const result = await calico('ipam', 'check');
      return result.code === 0 && !result.stdout.includes('WARN') ? result : undefined;
    });
    assert.match(clean.stdout, /\n\nNo problems found\.\n$/);
    assert.deepEqual(Object.values(await checks('CAL-1201', 'CAL-1202', 'CAL-1203')).map((c) => c.split(' ')[0]), ['PASS', 'PASS', 'PASS']);
  });
});

test('a deleted node\'s block and addresses, left while the garbage collector does not run, FAIL in ipam check and doctor; gone at once when it runs', async () => {
  await withCluster({ calico: 'v3.29.0', deletedNodes: ['kubernetes-worker-09'], ipamFaults: { gcStopped: true } }, async (cluster) => {
    const { calico, checks } = setup(cluster);
    const check = await calico('ipam', 'check', '-o', 'json');
    assert.equal(check.code, 1);
    const findings = JSON.parse(check.stdout).findings as { id: string; status: string; items: Record<string, string>[]; message: string }[];
    assert.deepEqual(findings.map((f) => [f.id, f.status]), [['leaked-addresses', 'FAIL'], ['stale-affinities', 'FAIL']]);
    assert.deepEqual(findings[0]!.items.map((i) => [i.NODE, i.OWNER!.replace(/-\w{5}$/, '-<suffix>')]).sort(), [['kubernetes-worker-09', 'calico-system/csi-node-driver-<suffix>'], ['kubernetes-worker-09', 'vxlanTunnelAddress of kubernetes-worker-09']]);
    assert.match(findings[0]!.message, /^2 leaked addresses: allocated, held by no pod or node, of deleted nodes \(released at once\)/);
    assert.equal(findings[1]!.message, '1 block affine to node kubernetes-worker-09, which no longer exists: no other node can claim it');
    assert.deepEqual(findings[1]!.items.map((i) => [i.NODE, i.ALLOCATED]), [['kubernetes-worker-09', '2']]);
    const doctor = await checks('CAL-1202', 'CAL-1203');
    assert.deepEqual(Object.values(doctor).map((c) => c.split(' ')[0]), ['FAIL', 'FAIL']);
    assert.match(doctor['CAL-1203']!, /^FAIL 1 block affine to node kubernetes-worker-09, which no longer exists: no other node can claim it: 10\.97\.\d+\.\d+\/26 \(kubernetes-worker-09\)$/);
    cluster.runtime.ipamFaults.gcStopped = false;
    await eventually(async () => ((await calico('ipam', 'check')).code === 0 ? true : undefined));
    assert.deepEqual(Object.values(await checks('CAL-1202', 'CAL-1203')).map((c) => c.split(' ')[0]), ['PASS', 'PASS']);
  });
});

test('ipam show and check on a small pool: borrowed addresses counted as the objects hold them, then the pool exhausted — found by ipam show, ipam check and doctor', async () => {
  // 32 addresses in four /29 blocks: the install takes three blocks and 11 addresses.
  await withCluster({ calico: 'v3.29.0', ipPool: { cidr: '10.97.0.0/27', blockSize: 29 } }, async (cluster) => {
    const { k, calico, objects, checks } = setup(cluster);
    assert.equal((await k('create', 'deployment', 'web', '--image', 'nginx', '--replicas', '24')).code, 0);
    await eventually(async () => ((await objects()).inUse === 32 ? true : undefined), 30_000);
    const held = await objects();
    assert.ok(held.borrowed >= 1, 'a node without a free block of its own borrowed');
    const show = await calico('ipam', 'show', '--show-blocks', '-o', 'json');
    const pool = JSON.parse(show.stdout).pools[0];
    assert.deepEqual([pool.blocks, pool.addresses, pool.use, pool.borrowed], [{ allocated: 4, possible: 4, free: 0 }, { inUse: 32, possible: 32 }, '100%', held.borrowed]);
    assert.deepEqual(pool.blockList.map((b: { cidr: string; inUse: number; size: number }) => [b.cidr, b.inUse, b.size]), ['10.97.0.0/29', '10.97.0.8/29', '10.97.0.16/29', '10.97.0.24/29'].map((cidr) => [cidr, 8, 8]));
    const text = await calico('ipam', 'show', '--show-blocks');
    assert.equal(text.stderr, 'Warning: IP pool default-ipv4-ippool is exhausted: all 32 addresses are in use (kubectl calico ipam check)\n');
    const [pools, blocks] = text.stdout.split('\n\nBlocks of default-ipv4-ippool:\n') as [string, string];
    assert.equal(pools, 'NAME                  CIDR           BLOCK SIZE   BLOCKS   ADDRESSES   USE\ndefault-ipv4-ippool   10.97.0.0/27   29           4/4      32/32       100%');
    const byCidr = new Map(held.blocks.map((b) => [b.cidr, b]));
    assert.deepEqual(blocks.trim().split('\n').map((l) => l.split(/ +/)), [['BLOCK', 'NODE', 'IN', 'USE', 'BORROWED'], ...['10.97.0.0/29', '10.97.0.8/29', '10.97.0.16/29', '10.97.0.24/29'].map((cidr) => {
      const b = byCidr.get(cidr)!;
      return [cidr, b.affinity!.slice(5), '8/8', String(b.allocations.filter((a) => a !== null && `host:${b.attributes[a]!.secondary?.node}` !== b.affinity).length)];
    })]);
    const check = await calico('ipam', 'check');
    assert.equal(check.code, 1);
    assert.match(check.stdout, /\nFAIL {2}IP pool default-ipv4-ippool \(10\.97\.0\.0\/27\) is exhausted: all 32 addresses are in use, so new pods get none \("failed to request IPv4 addresses"\)\n/);
    assert.match((await checks('CAL-1201'))['CAL-1201']!, /^FAIL IP pool default-ipv4-ippool \(10\.97\.0\.0\/27\) is exhausted/);
  });
});

test('dual-stack: each pool\'s figures are its family\'s objects (IPv6 counts beyond a double as digits, 2^N on screen, within 80 columns); a leaked pod\'s two addresses are one leak of both families', async () => {
  await withCluster({ calico: 'v3.32.1', dualStack: true, ipamFaults: { gcStopped: true, leakingPods: ['default/leaky'] } }, async (cluster) => {
    const { k, calico, objects, checks } = setup(cluster);
    const show = await calico('ipam', 'show', '--show-blocks', '-o', 'yaml');
    assert.equal(show.code, 0, show.stderr);
    const [v4, v6] = (parse(show.stdout) as { kind: string; pools: { name: string; blockList: { cidr: string }[] }[] }).pools as Record<string, unknown>[];
    const [held4, held6] = [await objects(4), await objects(6)];
    assert.deepEqual({ ...v4, blockList: undefined }, {
      name: 'default-ipv4-ippool', cidr: '10.97.0.0/16', blockSize: 26, disabled: false, blocks: { allocated: held4.blocks.length, possible: 1024, free: 1024 - held4.blocks.length },
      addresses: { inUse: held4.inUse, possible: 65536 }, use: '<1%', borrowed: held4.borrowed, nodesWithoutBlock: [], blockList: undefined,
    });
    assert.deepEqual({ ...v6, blockList: undefined }, {
      name: 'default-ipv6-ippool', cidr: 'fd00:10:97::/48', blockSize: 122, disabled: false,
      blocks: { allocated: held6.blocks.length, possible: String(2n ** 74n), free: String(2n ** 74n - BigInt(held6.blocks.length)) },
      addresses: { inUse: held6.inUse, possible: String(2n ** 80n) }, use: '<1%', borrowed: held6.borrowed, nodesWithoutBlock: [], blockList: undefined,
    });
    for (const [pool, held] of [[v4, held4], [v6, held6]] as const) {
      const list = pool!.blockList as { cidr: string }[];
      assert.deepEqual(new Set(list.map((b) => b.cidr)), new Set(held.rows.keys()));
      for (const b of list) assert.deepEqual(b, held.rows.get(b.cidr), b.cidr);
    }
    const text = await calico('ipam', 'show', '--show-blocks');
    const lines = text.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'NAME                  CIDR              BLOCK SIZE   BLOCKS   ADDRESSES   USE',
      `default-ipv4-ippool   10.97.0.0/16      26           ${held4.blocks.length}/1024   ${`${held4.inUse}/65536`.padEnd(12)}<1%`,
      `default-ipv6-ippool   fd00:10:97::/48   122          ${held6.blocks.length}/2^74   ${`${held6.inUse}/2^80`.padEnd(12)}<1%`,
    ]);
    assert.ok(text.stdout.includes('\n\nBlocks of default-ipv6-ippool:\nBLOCK '), text.stdout);
    assert.deepEqual(lines.filter((l) => l.length > 80), [], 'every line within 80 columns');
    assert.equal((await calico('ipam', 'check')).code, 0, 'every pod holds both of its addresses');

    assert.equal((await k('run', 'leaky', '--image', 'nginx')).code, 0);
    const ips = await eventually(async () => {
      const podIPs = JSON.parse((await k('get', 'pod', 'leaky', '-o', 'jsonpath={.status.podIPs}')).stdout || '[]') as { ip: string }[];
      return podIPs.length === 2 ? podIPs.map((p) => p.ip) : undefined;
    });
    assert.equal((await k('delete', 'pod', 'leaky')).code, 0);
    const check = await calico('ipam', 'check', '-o', 'json');
    assert.equal(check.code, 0, check.stdout);
    const findings = JSON.parse(check.stdout).findings as { id: string; status: string; count: number; items: Record<string, string>[] }[];
    assert.deepEqual(findings.map((f) => [f.id, f.status, f.count]), [['young-leaks', 'WARN', 2]]);
    assert.deepEqual(findings[0]!.items.map((i) => [i.ADDRESS, i.OWNER]).sort(), ips.map((ip) => [ip, 'default/leaky']).sort());
    assert.equal(new Set(findings[0]!.items.map((i) => i.HANDLE)).size, 1, 'one handle holds both');
    assert.match((await checks('CAL-1202'))['CAL-1202']!, /^WARN 2 addresses held by no pod or node, younger than leakGracePeriod/);
  });
});

test('six nodes, four blocks: the two nodes without a block borrow, as the objects record it; ipam show warns, ipam check and doctor WARN, naming them', async () => {
  await withCluster({ calico: 'v3.29.0', nodes: 6, ipPool: { cidr: '10.97.0.0/27', blockSize: 29 } }, async (cluster) => {
    const { k, calico, objects, checks } = setup(cluster);
    const held = await objects();
    const nodes = (await k('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}')).stdout.split(' ');
    const without = nodes.filter((n) => ![...held.rows.values()].some((b) => b.node === n)).sort();
    assert.equal(without.length, 2);
    assert.ok(held.borrowed >= 2, 'each of them took its tunnel address from another node\'s block');
    const show = await calico('ipam', 'show', '--show-blocks', '-o', 'json');
    assert.equal(show.code, 0, show.stderr);
    const pool = JSON.parse(show.stdout).pools[0];
    assert.deepEqual([pool.blocks, pool.addresses, pool.borrowed, [...pool.nodesWithoutBlock].sort()], [{ allocated: 4, possible: 4, free: 0 }, { inUse: held.inUse, possible: 32 }, held.borrowed, without]);
    assert.deepEqual(pool.blockList, [...held.rows.values()].sort((a, b) => Number(a.cidr.split('.')[3]!.split('/')[0]) - Number(b.cidr.split('.')[3]!.split('/')[0])));
    const text = await calico('ipam');
    assert.equal(text.stderr, 'Warning: IP pool default-ipv4-ippool has 0 free blocks for 2 nodes without one: they will borrow other nodes\' addresses, or get none with strictAffinity\n');
    const check = await calico('ipam', 'check');
    assert.equal(check.code, 0);
    assert.match(check.stdout, new RegExp(`\\nWARN {2}IP pool default-ipv4-ippool has 0 free blocks for 2 nodes without one \\(${without.join(', ')}\\): they will borrow`));
    assert.match((await checks('CAL-1201'))['CAL-1201']!, new RegExp(`^WARN IP pool default-ipv4-ippool has 0 free blocks for 2 nodes without one \\(${without.join(', ')}\\)`));
  });
});

test('doctor\'s IPAM checks read what they declare: with only the pools, blocks, affinities, nodes and the Installation, CAL-1201 and CAL-1203 run and no pod is listed; CAL-1202 SKIPs naming the rest, and runs once it is granted', async () => {
  await withCluster({ calico: 'v3.29.0', deletedNodes: ['kubernetes-worker-09'], ipamFaults: { gcStopped: true } }, async (cluster) => {
    const { k } = setup(cluster);
    const role = (name: string, rules: object[]) => JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules });
    const file = path.join(tempDir('ipam-rbac-'), 'roles.json');
    fs.writeFileSync(file, `${role('ipam-doctor', [
      { apiGroups: ['crd.projectcalico.org'], resources: ['ippools', 'ipamblocks', 'blockaffinities'], verbs: ['list'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
      { apiGroups: ['operator.tigera.io'], resources: ['installations'], verbs: ['get'] },
    ])}\n${role('ipam-leaks', [
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'get'] },
      { apiGroups: ['crd.projectcalico.org'], resources: ['ipamblocks', 'kubecontrollersconfigurations'], verbs: ['get'] },
    ])}\n`);
    assert.equal((await k('apply', '-f', file)).code, 0);
    assert.equal((await k('delete', 'clusterrolebinding', 'viewer')).code, 0, 'the viewer loses the view role');
    assert.equal((await k('create', 'clusterrolebinding', 'ipam-doctor', '--clusterrole', 'ipam-doctor', '--user', 'viewer')).code, 0);
    const asViewer = async () => {
      const doctor = await k('calico', '--context', 'viewer@kubernetes', 'doctor', '--check', 'CAL-1201,CAL-1202,CAL-1203', '-o', 'json');
      assert.ok(doctor.stdout, doctor.stderr);
      return Object.fromEntries((JSON.parse(doctor.stdout) as { checks: { id: string; status: string; finding: string }[] }).checks.map((c) => [c.id, `${c.status} ${c.finding}`]));
    };
    const from = cluster.requestLog.length;
    const limited = await asViewer();
    assert.match(limited['CAL-1201']!, /^PASS default-ipv4-ippool 10\.97\.0\.0\/16: \d+ of 65536 addresses in use/);
    assert.equal(limited['CAL-1202'], 'SKIP needs permission: list pods, get pods, get ipamblocks.crd.projectcalico.org, get kubecontrollersconfigurations.crd.projectcalico.org');
    assert.match(limited['CAL-1203']!, /^FAIL 1 block affine to node kubernetes-worker-09, which no longer exists/);
    const read = cluster.requestLog.slice(from).filter((e) => e.user === 'viewer' && e.method === 'GET').map((e) => e.path.split('?')[0]!);
    assert.deepEqual(read.filter((p) => /\/pods\b|kubecontrollersconfigurations/.test(p)), [], 'no pod and no controller configuration read');
    assert.equal(read.filter((p) => p.endsWith('/ipamblocks')).length, 1, 'the blocks read once for both checks');

    assert.equal((await k('create', 'clusterrolebinding', 'ipam-leaks', '--clusterrole', 'ipam-leaks', '--user', 'viewer')).code, 0);
    const granted = await asViewer();
    assert.match(granted['CAL-1202']!, /^FAIL 2 leaked addresses: .*of deleted nodes/);
    assert.deepEqual([granted['CAL-1201']!.split(' ')[0], granted['CAL-1203']!.split(' ')[0]], ['PASS', 'FAIL']);
  });
});
