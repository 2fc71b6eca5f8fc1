// Address arithmetic for Calico IPAM, in BigInt so that IPv6 pools (2^74
// blocks of a /48 cut into /122s) count exactly; parsing and printing through
// ipaddr.js, as Go's net package prints addresses (RFC 5952 for IPv6).
import ipaddr from 'ipaddr.js';

export interface Network {
  family: 4 | 6;
  /** The first address. */
  base: bigint;
  prefix: number;
}

const WIDTH = { 4: 32, 6: 128 } as const;

export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const address = ipaddr.parse(text);
  const family = address.kind() === 'ipv4' ? 4 : 6;
  return { family, value: address.toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n) };
}

export function formatAddress(family: 4 | 6, value: bigint): string {
  const bytes: number[] = [];
  for (let i = WIDTH[family] / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(8 * i)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** A network in CIDR form (its host bits cleared), or undefined when it is not one. */
export function parseNetwork(text: string): Network | undefined {
  const [address = '', bits] = text.split('/');
  const parsed = parseAddress(address);
  if (!parsed || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > WIDTH[parsed.family]) return undefined;
  const prefix = Number(bits);
  const hostBits = BigInt(WIDTH[parsed.family] - prefix);
  return { family: parsed.family, base: (parsed.value >> hostBits) << hostBits, prefix };
}

/** How many addresses the network holds. */
export function size(network: Network): bigint {
  return 1n << BigInt(WIDTH[network.family] - network.prefix);
}

/** How many networks of `prefix` fit in `network` (0 when they are bigger). */
export function subnets(network: Network, prefix: number): bigint {
  return prefix < network.prefix ? 0n : 1n << BigInt(prefix - network.prefix);
}

export function contains(network: Network, address: { family: 4 | 6; value: bigint }): boolean {
  return network.family === address.family && address.value >= network.base && address.value < network.base + size(network);
}

export function overlaps(a: Network, b: Network): boolean {
  return a.family === b.family && a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** The address at `ordinal` of a block. */
export function addressAt(network: Network, ordinal: number): string {
  return formatAddress(network.family, network.base + BigInt(ordinal));
}

/** A count for JSON: a number while it is exact, else its digits. */
export function jsonCount(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/**
 * A count for people: its digits up to ten of them (every IPv4 count); beyond, a power of two as `2^80` (an IPv6
 * pool's addresses and blocks always are), anything else in three significant digits (`1.21e+24`).
 */
export function countText(n: bigint): string {
  const digits = n.toString();
  if (digits.length <= 10) return digits;
  if ((n & (n - 1n)) === 0n) return `2^${n.toString(2).length - 1}`;
  let mantissa = Number(digits.slice(0, 3)) + (Number(digits[3]) >= 5 ? 1 : 0);
  let exponent = digits.length - 1;
  if (mantissa === 1000) [mantissa, exponent] = [100, exponent + 1];
  return `${(mantissa / 100).toString()}e+${exponent}`;
}

/** In use of possible, as a percentage for people: `0%` only when nothing is used, `<1%` for a little. */
export function percent(used: bigint, possible: bigint): string {
  if (possible === 0n) return '-';
  if (used === 0n) return '0%';
  const tenths = (used * 1000n) / possible;
  if (tenths < 10n) return '<1%';
  const whole = (used * 100n) / possible;
  return `${whole}%`;
}
