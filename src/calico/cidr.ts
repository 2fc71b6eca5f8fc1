// Networks and addresses, the one place they are parsed and compared: the
// pool checks init and doctor make, connectivity's pools and node subnets,
// and Calico IPAM's pools and blocks. Parsing and printing go through
// ipaddr.js (the address library Express and proxy-addr use; it prints as
// Go's net package does, RFC 5952 for IPv6); the arithmetic is on BigInts, so
// that an IPv6 pool (2^74 blocks of a /48 cut into /122s) counts exactly.
import ipaddr from 'ipaddr.js';
import { UsageError } from '../cli/errors.ts';

export interface Cidr {
  family: 4 | 6;
  /** The network address, normalised (`10.97.0.0`, `fd00:10:97::`). */
  address: string;
  prefix: number;
  /** `address/prefix`. */
  text: string;
  /** The network address as a number. */
  base: bigint;
}

const WIDTH = { 4: 32, 6: 128 } as const;

/** Parses a network in CIDR form; anything else (host bits set included) is a UsageError naming the value. */
export function parseCidr(value: string, flag = '--pod-cidr'): Cidr {
  const text = value.trim();
  if (text === '') throw new UsageError(`${flag} is empty: expected a network such as 10.97.0.0/16`);
  const slash = text.indexOf('/');
  if (slash < 0) throw new UsageError(`invalid ${flag} "${value}": expected a network in CIDR form such as 10.97.0.0/16`);
  const [addressText, prefixText] = [text.slice(0, slash), text.slice(slash + 1)];
  if (!isAddress(addressText)) throw new UsageError(`invalid ${flag} "${value}": "${addressText}" is not an IP address`);
  const address = valueOf(ipaddr.parse(addressText));
  if (!/^\d+$/.test(prefixText) || Number(prefixText) > WIDTH[address.family]) {
    throw new UsageError(`invalid ${flag} "${value}": the prefix length must be 0 to ${WIDTH[address.family]} for an IPv${address.family} network`);
  }
  const cidr = networkOf(address, Number(prefixText));
  if (cidr.base !== address.value) throw new UsageError(`invalid ${flag} "${value}": host bits are set (did you mean ${cidr.text}?)`);
  return cidr;
}

/** `--pod-cidr 10.97.0.0/16,fd00:10:97::/56`: at most one network per family. */
export function parseCidrList(value: string, flag = '--pod-cidr'): Cidr[] {
  const parts = value.split(',');
  // An empty part of a list (`10.97.0.0/16,`) is named with the whole value, not as an empty flag.
  if (parts.length > 1 && parts.some((part) => part.trim() === '')) {
    throw new UsageError(`invalid ${flag} "${value}": expected one network per IP family, comma-separated, such as 10.97.0.0/16,fd00:10:97::/56`);
  }
  const cidrs = parts.map((part) => parseCidr(part, flag));
  if (cidrs.length > 2 || new Set(cidrs.map((c) => c.family)).size !== cidrs.length) {
    throw new UsageError(`invalid ${flag} "${value}": give at most one IPv4 and one IPv6 network`);
  }
  return cidrs;
}

/**
 * The network of an address given with its prefix length, host bits cleared (`192.168.56.11/24` →
 * 192.168.56.0/24, as calico-node annotates nodes); undefined when it does not parse. What the cluster's objects
 * hold (IP pools, IPAM blocks) is read with it: a value in them is not the user's to correct.
 */
export function parseNetwork(value: string): Cidr | undefined {
  const [addressText = '', prefixText = ''] = value.trim().split('/');
  if (!isAddress(addressText) || !/^\d+$/.test(prefixText)) return undefined;
  const address = valueOf(ipaddr.parse(addressText));
  const prefix = Number(prefixText);
  return prefix > WIDTH[address.family] ? undefined : networkOf(address, prefix);
}


/** An address as a number; undefined when it is not one. */
export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  return ipaddr.isValid(text) ? valueOf(ipaddr.parse(text)) : undefined;
}

export function formatAddress(family: 4 | 6, value: bigint): string {
  const bytes: number[] = [];
  for (let i = WIDTH[family] / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(8 * i)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** How many addresses the network holds. */
export function size(cidr: Cidr): bigint {
  return 1n << BigInt(WIDTH[cidr.family] - cidr.prefix);
}

/** How many networks of `prefix` fit in `cidr` (0 when they are bigger). */
export function subnets(cidr: Cidr, prefix: number): bigint {
  return prefix < cidr.prefix ? 0n : 1n << BigInt(prefix - cidr.prefix);
}

/** The address at `ordinal` of a network (of an IPAM block). */
export function addressAt(cidr: Cidr, ordinal: number): string {
  return formatAddress(cidr.family, cidr.base + BigInt(ordinal));
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && inner.base >= outer.base && inner.base < outer.base + size(outer);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** Whether `ip` (text, or as parseAddress gives it) is in the network; false for another family and for non-addresses. */
export function containsAddress(cidr: Cidr, ip: string | { family: 4 | 6; value: bigint }): boolean {
  const address = typeof ip === 'string' ? parseAddress(ip) : ip;
  return address !== undefined && address.family === cidr.family && address.value >= cidr.base && address.value < cidr.base + size(cidr);
}

/**
 * Dotted-decimal IPv4, or IPv6 without a zone. ipaddr.js alone also takes the
 * inet_aton forms (`010.0.0.0` is 8.0.0.0, `10.97` is 10.0.0.97), which
 * Kubernetes and Calico refuse: a pool must be the network the user typed.
 */
function isAddress(text: string): boolean {
  if (!text.includes(':')) return ipaddr.IPv4.isValidFourPartDecimal(text);
  const last = text.slice(text.lastIndexOf(':') + 1);
  return ipaddr.IPv6.isValid(text) && !text.includes('%') && (!last.includes('.') || ipaddr.IPv4.isValidFourPartDecimal(last));
}

function valueOf(address: ipaddr.IPv4 | ipaddr.IPv6): { family: 4 | 6; value: bigint } {
  return { family: address.kind() === 'ipv4' ? 4 : 6, value: address.toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n) };
}

function networkOf(address: { family: 4 | 6; value: bigint }, prefix: number): Cidr {
  const hostBits = BigInt(WIDTH[address.family] - prefix);
  const base = (address.value >> hostBits) << hostBits;
  const text = formatAddress(address.family, base);
  return { family: address.family, address: text, prefix, text: `${text}/${prefix}`, base };
}
