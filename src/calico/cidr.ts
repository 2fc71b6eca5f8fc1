// CIDR parsing and the overlap math init needs, on ipaddr.js (the address
// library Express and proxy-addr use) rather than hand-written bit fiddling.
import ipaddr from 'ipaddr.js';
import { UsageError } from '../cli/errors.ts';

export interface Cidr {
  family: 4 | 6;
  /** The network address, normalised (`10.97.0.0`, `fd00:10:97::`). */
  address: string;
  prefix: number;
  /** `address/prefix`. */
  text: string;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Parses a network in CIDR form; anything else (host bits set included) is a UsageError naming the value. */
export function parseCidr(value: string, flag = '--pod-cidr'): Cidr {
  const text = value.trim();
  if (text === '') throw new UsageError(`${flag} is empty: expected a network such as 10.97.0.0/16`);
  const slash = text.indexOf('/');
  if (slash < 0) throw new UsageError(`invalid ${flag} "${value}": expected a network in CIDR form such as 10.97.0.0/16`);
  const [addressText, prefixText] = [text.slice(0, slash), text.slice(slash + 1)];
  if (!isAddress(addressText)) throw new UsageError(`invalid ${flag} "${value}": "${addressText}" is not an IP address`);
  const address = ipaddr.parse(addressText);
  const family = address.kind() === 'ipv4' ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefixText) || Number(prefixText) > max) {
    throw new UsageError(`invalid ${flag} "${value}": the prefix length must be 0 to ${max} for an IPv${family} network`);
  }
  const prefix = Number(prefixText);
  const network = networkOf(address, prefix);
  const normalized = format(network);
  if (normalized !== format(address)) {
    throw new UsageError(`invalid ${flag} "${value}": host bits are set (did you mean ${normalized}/${prefix}?)`);
  }
  return { family, address: normalized, prefix, text: `${normalized}/${prefix}` };
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

/** The network of an interface address given with its prefix length (`192.168.56.11/24` → 192.168.56.0/24, as calico-node annotates nodes); undefined when it does not parse. */
export function interfaceNetwork(value: string): Cidr | undefined {
  const [addressText = '', prefixText = ''] = value.trim().split('/');
  if (!isAddress(addressText) || !/^\d+$/.test(prefixText)) return undefined;
  const address = ipaddr.parse(addressText);
  const family = address.kind() === 'ipv4' ? 4 : 6;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  const network = format(networkOf(address, prefix));
  return { family, address: network, prefix, text: `${network}/${prefix}` };
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && ipaddr.parse(inner.address).match(ipaddr.parse(outer.address), outer.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return containsCidr(a, b) || containsCidr(b, a);
}

export function containsAddress(cidr: Cidr, ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const address = ipaddr.parse(ip);
  return (address.kind() === 'ipv4' ? 4 : 6) === cidr.family && address.match(ipaddr.parse(cidr.address), cidr.prefix);
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

function networkOf(address: Address, prefix: number): Address {
  const bytes = address.toByteArray();
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return ipaddr.fromByteArray(bytes);
}

function format(address: Address): string {
  return address.toString();
}
