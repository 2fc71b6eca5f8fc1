// Counts for Calico IPAM's pools and blocks, for people and for JSON: an IPv6
// pool's counts (2^80 addresses in a /48) are BigInts beyond a double.
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
