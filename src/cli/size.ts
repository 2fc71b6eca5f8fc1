import { UsageError } from './errors.ts';

const UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** A byte count as Kubernetes quantities write it (`10Mi`, `500k`, `1G`, `4096`). */
export function parseByteSize(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(k|M|G|Ki|Mi|Gi)?$/.exec(value.trim());
  const bytes = match ? Math.floor(Number(match[1]) * UNITS[match[2] ?? '']!) : NaN;
  if (!(bytes > 0)) throw new UsageError(`invalid value "${value}" for ${flag}: expected a size above zero such as 10Mi, 500Ki or 1G`);
  return bytes;
}
