import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { containsCidr, overlaps, parseCidr, parseCidrList } from '../../src/calico/cidr.ts';
import { checkPools, supportWarning, type ClusterNetwork } from '../../src/calico/cluster-network.ts';
import { rewriteCustomResources } from '../../src/calico/custom-resources.ts';
import { sha256 } from '../../src/calico/manifests.ts';
import { manifestObjects, objectsCachePath, parseAndCache } from '../../src/calico/plan.ts';
import { retryDelay } from '../../src/kube/client.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { SHARED_CALICO, tempDir } from '../helpers.ts';

test('CIDRs: networks parse; host bits, bad prefixes, bad addresses and non-CIDRs are usage errors naming the value', () => {
  assert.deepEqual(parseCidr('10.97.0.0/16'), { family: 4, address: '10.97.0.0', prefix: 16, text: '10.97.0.0/16', base: 0x0a610000n });
  assert.equal(parseCidr('fd00:10:97:0::/56').text, 'fd00:10:97::/56');
  const cases: [string, RegExp][] = [
    ['10.97.0.0/33', /"10\.97\.0\.0\/33": the prefix length must be 0 to 32 for an IPv4 network/],
    ['10.97.0.1/16', /"10\.97\.0\.1\/16": host bits are set \(did you mean 10\.97\.0\.0\/16\?\)/],
    ['300.1.1.1/16', /"300\.1\.1\.1" is not an IP address/],
    ['abc', /"abc": expected a network in CIDR form/],
    ['', /--pod-cidr is empty/],
    ['fd00::/129', /must be 0 to 128 for an IPv6 network/],
  ];
  for (const [value, message] of cases) assert.throws(() => parseCidr(value), (e: unknown) => e instanceof UsageError && message.test(e.message) && e.exitCode === 2, value);
  assert.throws(() => parseCidrList('10.97.0.0/16,10.98.0.0/16'), /at most one IPv4 and one IPv6 network/);
  assert.equal(parseCidrList('10.97.0.0/16,fd00:10:97::/56').length, 2);
});

test('containment and overlap', () => {
  assert.ok(containsCidr(parseCidr('10.96.0.0/12'), parseCidr('10.97.0.0/16')));
  assert.ok(!containsCidr(parseCidr('10.97.0.0/16'), parseCidr('10.96.0.0/12')));
  assert.ok(overlaps(parseCidr('10.97.0.0/16'), parseCidr('10.96.0.0/12')));
  assert.ok(!overlaps(parseCidr('10.97.0.0/16'), parseCidr('10.96.0.0/16')));
});

const network = (extra: Partial<ClusterNetwork> = {}): ClusterNetwork => ({
  kubernetesVersion: 'v1.31.3', podSubnets: [parseCidr('10.97.0.0/16')], serviceSubnets: [parseCidr('10.96.0.0/16')],
  nodePodCIDRs: [], nodeIPs: [{ node: 'kubernetes-master-01', ip: '192.168.56.11' }], nodeCount: 1, kubeadmProblem: undefined, ...extra,
});
const pool = (cidr: string, blockSize = 26) => ({ cidr: parseCidr(cidr), blockSize });

test('pool checks: equal passes, smaller warns, outside / service overlap / node address / no podSubnet refuse', () => {
  assert.deepEqual(checkPools([pool('10.97.0.0/16')], network(), 'choosing'), []);
  assert.equal(checkPools([pool('10.97.0.0/17')], network(), 'choosing')[0]!.level, 'warning');
  const outside = checkPools([pool('192.168.0.0/16')], network(), 'choosing');
  assert.deepEqual(outside.map((f) => [f.check, f.level]), [['pod-subnet', 'error'], ['no-overlap', 'error']]);
  assert.match(outside[0]!.problem, /outside the cluster's podSubnet 10\.97\.0\.0\/16/);
  assert.equal(outside[0]!.fix, 'use --pod-cidr 10.97.0.0/16');
  assert.match(outside[1]!.problem, /contains node kubernetes-master-01's InternalIP 192\.168\.56\.11/);
  const overlap = checkPools([pool('10.97.0.0/16')], network({ serviceSubnets: [parseCidr('10.96.0.0/12')] }), 'choosing');
  assert.match(overlap[0]!.problem, /overlaps the service subnet 10\.96\.0\.0\/12/);
  assert.equal(overlap[0]!.fix, "choose a pod CIDR outside 10.96.0.0/12, and make it kubeadm's podSubnet in place of 10.97.0.0/16 (networking.podSubnet in kube-system/kubeadm-config's ClusterConfiguration: the operator only takes a pool inside the podSubnet), then run kubectl calico init", 'the podSubnet overlaps too, so it must change as well');
  assert.equal(checkPools([pool('10.96.0.0/16')], network(), 'choosing').find((f) => f.check === 'no-overlap')!.fix, 'choose a pod CIDR outside 10.96.0.0/16', 'a podSubnet clear of the service subnet stays');
  const noPodSubnet = checkPools([pool('10.97.0.0/16')], network({ podSubnets: [] }), 'choosing');
  assert.deepEqual(noPodSubnet.map((f) => [f.check, f.level]), [['pod-subnet', 'error']]);
  assert.match(noPodSubnet[0]!.problem, /no podSubnet \(networking\.podSubnet in its ClusterConfiguration\)/);
  assert.deepEqual(checkPools([pool('10.97.0.0/16')], network({ podSubnets: [], kubeadmProblem: 'kube-system/kubeadm-config does not exist' }), 'choosing'), [], 'not a kubeadm cluster: nothing to require');
});

test('pool checks: a block per node, with room to grow; installed pools get fixes that move them', () => {
  const three = network({ nodeCount: 3, podSubnets: [parseCidr('10.97.0.0/24')] });
  assert.deepEqual(checkPools([pool('10.97.0.0/24', 28)], three, 'choosing'), []);
  const few = checkPools([pool('10.97.0.0/24')], three, 'choosing');
  assert.deepEqual(few.map((f) => [f.check, f.level]), [['blocks', 'warning']]);
  assert.match(few[0]!.problem, /^the pool 10\.97\.0\.0\/24 with block size 26 has 4 blocks for 3 nodes: little room to grow$/);
  assert.match(few[0]!.fix, /^use a higher --block-size \(smaller blocks, more of them\) or a wider pod CIDR, and make it kubeadm's podSubnet in place of 10\.97\.0\.0\/24 /);
  const short = checkPools([pool('10.97.0.0/25')], network({ nodeCount: 3 }), 'installed');
  assert.deepEqual(short.map((f) => [f.check, f.level]), [['pod-subnet', 'warning'], ['blocks', 'error']]);
  assert.equal(short[1]!.fix, 'add a larger pool (the block size cannot change in place)');
  assert.match(checkPools([pool('10.97.0.0/16')], network({ serviceSubnets: [parseCidr('10.96.0.0/12')] }), 'installed')[0]!.fix, /^move the pods to a pool outside 10\.96\.0\.0\/12 \(a pool migration/);
});

test('Kubernetes support: a warning that names a release that fits', () => {
  assert.equal(supportWarning('v3.29.0', 'v1.31.3'), undefined);
  assert.equal(supportWarning('v3.29.0', 'v1.34.2'), 'Calico v3.29.0 is tested on Kubernetes 1.29, 1.30, 1.31, 1.32, not 1.34; --calico-version v3.32.1 is');
});

test('custom-resources rewrite keeps every other byte, for every release layout', () => {
  for (const version of ['v3.29.0', 'v3.30.7', 'v3.31.7', 'v3.32.1']) {
    const upstream = fs.readFileSync(path.join(SHARED_CALICO, version, 'custom-resources.yaml'), 'utf8');
    const same = rewriteCustomResources(upstream, [{ cidr: '192.168.0.0/16', blockSize: 26, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()' }]);
    assert.equal(same, upstream, `${version}: the upstream values give the upstream bytes`);
    const changed = rewriteCustomResources(upstream, [{ cidr: '10.97.0.0/16', blockSize: 27, encapsulation: 'IPIP', natOutgoing: 'Disabled', nodeSelector: 'calico == "yes"' }]);
    const diff = upstream.split('\n').map((l, i) => [l.trim(), changed.split('\n')[i]!.trim()]).filter(([a, b]) => a !== b);
    assert.deepEqual(diff, [['blockSize: 26', 'blockSize: 27'], ['cidr: 192.168.0.0/16', 'cidr: 10.97.0.0/16'], ['encapsulation: VXLANCrossSubnet', 'encapsulation: IPIP'], ['natOutgoing: Enabled', 'natOutgoing: Disabled'], ['nodeSelector: all()', 'nodeSelector: calico == "yes"']], version);
  }
});

test('retries: transient failures only, capped exponential backoff with jitter, Retry-After honoured', () => {
  const response = (statusCode: number, headers: Record<string, string> = {}) => ({ statusCode, headers, body: Buffer.alloc(0) });
  assert.equal(retryDelay(response(429, { 'retry-after': '2' }), 1), 2000);
  assert.equal(retryDelay(response(503), 1, () => 0), 125);
  assert.equal(retryDelay(response(503), 4, () => 1), 2000);
  assert.equal(retryDelay(response(503), 5, () => 1), 4000, 'capped at 4 s');
  assert.equal(retryDelay(response(503), 5, () => 0), 2000, 'jitter: the upper half of the ceiling');
  assert.equal(retryDelay(response(429, { 'retry-after': '60' }), 1), 10_000, 'Retry-After is honoured up to 10 s');
  assert.equal(retryDelay(response(500), 6), undefined, 'bounded');
  assert.equal(retryDelay(response(404), 1), undefined);
  assert.equal(retryDelay(response(409), 1), undefined);
  assert.equal(retryDelay(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 1, () => 0), 125);
  assert.equal(retryDelay(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 1), undefined);
});

test('manifest objects: the parse cache answers only for the JSON the plan vouches for; anything else is parsed again from the verified bytes', () => {
  const cacheDir = tempDir('objects-');
  try {
    const data = fs.readFileSync(path.join(SHARED_CALICO, 'v3.29.0', 'custom-resources.yaml'));
    const digest = sha256(data);
    const cached = objectsCachePath(cacheDir, digest);
    const { objects: parsed, objectsSha256 } = parseAndCache('custom-resources.yaml', data, cached);
    assert.deepEqual(parsed.map((o) => (o as { kind: string }).kind), ['Installation', 'APIServer']);
    assert.equal(sha256(fs.readFileSync(cached)), objectsSha256);
    // The cache answers for those bytes without parsing them again (garbage in place of the bytes proves it).
    assert.deepEqual(manifestObjects('custom-resources.yaml', Buffer.from('not: [yaml'), digest, cacheDir, objectsSha256), parsed);
    // A planted entry — valid JSON, other objects — is not used: the verified bytes are parsed and the entry written anew.
    fs.writeFileSync(cached, JSON.stringify([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'evil' } }]));
    assert.deepEqual(manifestObjects('custom-resources.yaml', data, digest, cacheDir, objectsSha256), parsed);
    assert.equal(sha256(fs.readFileSync(cached)), objectsSha256);
    fs.writeFileSync(cached, '{');
    assert.deepEqual(manifestObjects('custom-resources.yaml', data, digest, cacheDir, objectsSha256), parsed);
    // A plan without the digest (written before it was recorded) never trusts the cache.
    fs.writeFileSync(cached, JSON.stringify([]));
    assert.deepEqual(manifestObjects('custom-resources.yaml', data, digest, cacheDir, undefined), parsed);
    assert.throws(() => manifestObjects('bad.yaml', Buffer.from('a: [1'), 'f'.repeat(64), cacheDir, undefined), /bad\.yaml is not valid YAML/);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('pools are named by family whichever order they are given in', () => {
  const text = fs.readFileSync(path.join(SHARED_CALICO, 'v3.29.0', 'custom-resources.yaml'), 'utf8');
  const v6 = { cidr: 'fd00:10:97::/56', blockSize: 122, encapsulation: 'VXLAN', natOutgoing: 'Disabled', nodeSelector: 'all()' };
  const v4 = { cidr: '10.97.0.0/16', blockSize: 26, encapsulation: 'VXLAN', natOutgoing: 'Enabled', nodeSelector: 'all()' };
  const names = (out: string) => [...out.matchAll(/- name: (\S+)\n\s+blockSize: \d+\n\s+cidr: (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(names(rewriteCustomResources(text, [v6, v4])), ['default-ipv6-ippool fd00:10:97::/56', 'default-ipv4-ippool 10.97.0.0/16']);
  assert.deepEqual(names(rewriteCustomResources(text, [v6])), ['default-ipv6-ippool fd00:10:97::/56']);
});
