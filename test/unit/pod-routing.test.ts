// Who routes pod traffic between nodes, per address family, decided once
// (podRouting) for node status, doctor and connectivity: VXLAN pools are
// Felix's, IPIP and unencapsulated ones BGP's, disabled pools count for
// nothing. On the dual-stack install (an IPv4 VXLANCrossSubnet pool, an
// unencapsulated IPv6 one) a BGP session that is down breaks IPv6 only, so
// connectivity's note that "pod traffic flows" is not given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podRouting } from '../../src/calico/bgp/node-status.ts';
import { parseCidr } from '../../src/calico/cidr.ts';
import { diagnose } from '../../src/calico/connectivity/diagnosis.ts';
import type { DataplaneFacts, Pool } from '../../src/calico/connectivity/facts.ts';

test('per family: VXLAN is Felix\'s, IPIP and none are BGP\'s, one BGP pool makes the family BGP\'s, disabled pools do not count', () => {
  const v4 = { cidr: '10.97.0.0/16' };
  const v6 = { cidr: 'fd00:10:97::/48' };
  assert.deepEqual(podRouting([{ ...v4, vxlanMode: 'CrossSubnet', ipipMode: 'Never' }, { ...v6, vxlanMode: 'Never', ipipMode: 'Never' }]), { ipv4: 'vxlan', ipv6: 'bgp' });
  assert.deepEqual(podRouting([{ ...v4, vxlanMode: 'Always' }, { ...v6, vxlanMode: 'Always' }]), { ipv4: 'vxlan', ipv6: 'vxlan' });
  assert.deepEqual(podRouting([{ ...v4, ipipMode: 'Always' }]), { ipv4: 'bgp' });
  assert.deepEqual(podRouting([{ ...v4, vxlanMode: 'Always' }, { cidr: '10.98.0.0/16', vxlanMode: 'Never', ipipMode: 'CrossSubnet' }]), { ipv4: 'bgp' });
  assert.deepEqual(podRouting([{ ...v4, vxlanMode: 'Always' }, { cidr: '10.98.0.0/16', disabled: true }]), { ipv4: 'vxlan' });
  assert.deepEqual(podRouting([]), {});
});

function facts(pools: Pool[]): DataplaneFacts {
  const nodes = ['a', 'b'];
  return {
    pools,
    nodes: new Map(nodes.map((n, i) => [n, { name: n, internalIP: `192.168.56.1${i}`, subnet: '192.168.56.0/24' }])),
    calicoNodes: new Map(nodes.map((n) => [n, { pod: `calico-node-${n}`, ready: n !== 'b', message: n === 'b' ? 'calico/node is not ready: BIRD is not ready: BGP not established with 192.168.56.10' : '' }])),
    bgpDown: new Map([['b', new Set(['a'])]]),
    coreDNS: { ready: 2, total: 2, problems: [], nodes: ['a'] },
  };
}

const pool = (name: string, cidr: string, vxlanMode: string): Pool => ({ name, cidr: parseCidr(cidr, 'pool'), vxlanMode, ipipMode: 'Never', natOutgoing: true });

test('connectivity\'s note that BGP carries no pod traffic: only when every family\'s pools are VXLAN', () => {
  const note = (pools: Pool[]) => diagnose({ results: [], facts: facts(pools), notReady: [], notScheduled: [], namespace: 'calico-connectivity' }).map((f) => f.id);
  assert.deepEqual(note([pool('default-ipv4-ippool', '10.97.0.0/16', 'CrossSubnet'), pool('default-ipv6-ippool', 'fd00:10:97::/48', 'Always')]), ['bgp-not-established']);
  assert.deepEqual(note([pool('default-ipv4-ippool', '10.97.0.0/16', 'CrossSubnet'), pool('default-ipv6-ippool', 'fd00:10:97::/48', 'Never')]), [], 'IPv6 rides on BGP: its traffic does not flow');
});
