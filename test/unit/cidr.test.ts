// The one network library (src/calico/cidr.ts) read two ways: parseCidr for
// what a user types (host bits refused), parseNetwork for what the cluster's
// objects and node annotations hold (host bits cleared). Both give the same
// network, and IPAM's arithmetic on it matches a reference on BigInts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { addressAt, containsAddress, parseCidr, parseNetwork, size, subnets } from '../../src/calico/cidr.ts';

const BITS = { 4: 32, 6: 128 } as const;
const text = (family: 4 | 6, n: bigint) => ipaddr.fromByteArray(Array.from({ length: BITS[family] / 8 }, (_, i) => Number((n >> BigInt(BITS[family] - 8 * (i + 1))) & 0xffn))).toString();

test('parseNetwork of any address inside a network, with its prefix, is parseCidr of the network; the address is in it, at its ordinal', () => {
  const family = fc.constantFrom<4 | 6>(4, 6);
  fc.assert(fc.property(family.chain((f) => fc.tuple(fc.constant(f), fc.bigInt({ min: 0n, max: (1n << BigInt(BITS[f])) - 1n }), fc.integer({ min: 0, max: BITS[f] }))), ([f, address, prefix]) => {
    const hostBits = BigInt(BITS[f] - prefix);
    const base = (address >> hostBits) << hostBits;
    const network = parseNetwork(`${text(f, address)}/${prefix}`)!;
    assert.deepEqual(network, parseCidr(`${text(f, base)}/${prefix}`));
    assert.equal(size(network), 1n << hostBits);
    assert.ok(containsAddress(network, text(f, address)));
    if (hostBits <= 16n) assert.equal(addressAt(network, Number(address - base)), text(f, address));
  }), { numRuns: 500 });
});

test('what parseNetwork refuses: no prefix, a prefix too long, inet_aton forms and zones', () => {
  for (const value of ['10.97.0.0', '10.97.0.0/33', 'fd00::/129', '10.97/16', '010.0.0.0/8', 'fe80::1%eth0/64', '10.97.0.0/x', '']) assert.equal(parseNetwork(value), undefined, value);
  assert.equal(parseNetwork('192.168.56.11/24')!.text, '192.168.56.0/24', 'a node\'s interface address, as calico-node annotates it');
  assert.equal(subnets(parseNetwork('fd00:10:97::/48')!, 122), 1n << 74n);
  assert.equal(subnets(parseNetwork('10.97.0.0/16')!, 8), 0n, 'blocks bigger than the pool');
});
