// The small IPv6 pieces of the test cluster: Go's net.SplitHostPort as agnhost
// connect splits its destination, and the dual-stack scenarios' node
// addresses (each IPv4 network's ULA twin).
import assert from 'node:assert/strict';
import { test } from 'node:test';
// The program table first: agnhost.ts and index.ts import each other.
import '../cluster/programs/index.ts';
import { splitHostPort } from '../cluster/programs/agnhost.ts';
import { SCENARIOS } from '../cluster/scenarios.ts';

test('net.SplitHostPort: brackets for IPv6, and its errors as *AddrError words them', () => {
  assert.deepEqual(splitHostPort('[fd00:10:97::5]:9376'), { host: 'fd00:10:97::5', port: '9376' });
  assert.deepEqual(splitHostPort('10.97.0.5:9376'), { host: '10.97.0.5', port: '9376' });
  assert.deepEqual(splitHostPort('[10.97.0.5]:80'), { host: '10.97.0.5', port: '80' });
  assert.deepEqual(splitHostPort('fd00:10:97::5:9376'), { error: 'address fd00:10:97::5:9376: too many colons in address' });
  assert.deepEqual(splitHostPort('[fd00::5]'), { error: 'address [fd00::5]: missing port in address' });
  assert.deepEqual(splitHostPort('[fd00::5'), { error: "address [fd00::5: missing ']' in address" });
  assert.deepEqual(splitHostPort('[fd00::5]x:80'), { error: 'address [fd00::5]x:80: missing port in address' });
  assert.deepEqual(splitHostPort('[fd00::5]:80:81'), { error: 'address [fd00::5]:80:81: too many colons in address' });
  assert.deepEqual(splitHostPort('a[b:80'), { error: "address a[b:80: unexpected '[' in address" });
  assert.deepEqual(splitHostPort('echo'), { error: 'address echo: missing port in address' });
});

test('dual-stack scenarios: every node has an IPv6 address on its IPv4 network\'s ULA twin, the host part kept', () => {
  const three = SCENARIOS['kubeadm-3-nodes']!({ dualStack: true });
  assert.deepEqual(three.nodes.map((n) => [n.ip, `${n.ip6}/${n.ip6PrefixLength}`]), [
    ['192.168.56.11', 'fd00:192:168:56::b/64'], ['192.168.56.12', 'fd00:192:168:56::c/64'], ['192.168.56.13', 'fd00:192:168:56::d/64'],
  ]);
  const two = SCENARIOS['kubeadm-two-subnets']!({ dualStack: true });
  assert.deepEqual(two.nodes.map((n) => n.ip6), ['fd00:192:168:56::b', 'fd00:192:168:57::c', 'fd00:192:168:57::d']);
  const big = SCENARIOS['kubeadm-3-nodes']!({ dualStack: true, nodes: 300 });
  assert.equal(new Set(big.nodes.map((n) => n.ip6)).size, 300);
  assert.equal(big.nodes.at(-1)!.ip, '192.168.57.54');
  assert.equal(big.nodes.at(-1)!.ip6, 'fd00:192:168:56::136', 'the offset in the grown /23 network');
  assert.equal(SCENARIOS['kubeadm-3-nodes']!({}).nodes[0]!.ip6, undefined);
});
