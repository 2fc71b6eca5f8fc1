import { UsageError } from './errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go duration as kubectl accepts it (`30s`, `1m30s`, `500ms`, `0`);
 * a bare number means seconds, as for kubectl's --request-timeout.
 */
export function parseDuration(value: string, flag: string): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text) ? text.match(/\d+(?:\.\d+)?(?:ms|s|m|h)/g) : null;
  if (!parts) throw new UsageError(`invalid value "${value}" for ${flag}: expected a duration such as 30s, 2m or 1h`);
  return parts.reduce((total, part) => {
    const [, amount = '0', unit = 's'] = /^([\d.]+)(ms|s|m|h)$/.exec(part) ?? [];
    return total + Number(amount) * UNIT_MS[unit]!;
  }, 0);
}
