// IP networks as Go's net.ParseCIDR reads them (host bits allowed, the
// network is what is kept), for NetworkPolicy ipBlocks and Calico's nets.
import ipaddr from 'ipaddr.js';

export interface IPNet {
  family: 4 | 6;
  /** The network address (host bits cleared). */
  network: ipaddr.IPv4 | ipaddr.IPv6;
  prefix: number;
}

/** Dotted-decimal IPv4 or IPv6 without a zone; ipaddr.js alone also takes inet_aton forms (`10.1`), which Go refuses. */
function isAddress(text: string): boolean {
  if (!text.includes(':')) return ipaddr.IPv4.isValidFourPartDecimal(text);
  const last = text.slice(text.lastIndexOf(':') + 1);
  return ipaddr.IPv6.isValid(text) && !text.includes('%') && (!last.includes('.') || ipaddr.IPv4.isValidFourPartDecimal(last));
}

/** net.ParseCIDR: `10.0.0.1/8` is the network 10.0.0.0/8; undefined when it is not a CIDR. */
export function parseIPNet(text: string): IPNet | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const [addressText, prefixText] = [text.slice(0, slash), text.slice(slash + 1)];
  if (!isAddress(addressText) || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const address = ipaddr.parse(addressText);
  const family = address.kind() === 'ipv4' ? 4 : 6;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  const bytes = address.toByteArray();
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family, network: ipaddr.fromByteArray(bytes), prefix };
}

/** Calico's ParseCIDROrIP: a bare address is its own /32 or /128. */
export function parseIPNetOrIP(text: string): IPNet | undefined {
  if (text.includes('/')) return parseIPNet(text);
  if (!isAddress(text)) return undefined;
  return parseIPNet(`${text}/${text.includes(':') ? 128 : 32}`);
}

export function ipNetContains(net: IPNet, ip: string): boolean {
  if (!isAddress(ip)) return false;
  const address = ipaddr.parse(ip);
  return (address.kind() === 'ipv4' ? 4 : 6) === net.family && address.match(net.network, net.prefix);
}

/** Whether `inner` lies inside `outer` (the same network counts). */
export function ipNetContainsNet(outer: IPNet, inner: IPNet): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && inner.network.match(outer.network, outer.prefix);
}

export function ipFamily(ip: string): 4 | 6 | undefined {
  if (!isAddress(ip)) return undefined;
  return ip.includes(':') ? 6 : 4;
}
