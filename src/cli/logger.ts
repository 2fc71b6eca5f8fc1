import type { Writable } from 'node:stream';

/**
 * Verbose logging in klog's layout (`I1126 05:30:00.123456   12345 file.go] msg`),
 * so -v output reads like kubectl's. Level 0 logs nothing.
 */
export class Logger {
  readonly level: number;
  private readonly out: Writable;

  constructor(level: number, out: Writable) {
    this.level = level;
    this.out = out;
  }

  enabled(level: number): boolean {
    return this.level >= level;
  }

  log(level: number, source: string, message: string): void {
    if (!this.enabled(level)) return;
    this.out.write(`${klogHeader(new Date())} ${String(process.pid).padStart(7)} ${source}] ${message}\n`);
  }
}

function klogHeader(now: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const micros = pad(now.getUTCMilliseconds() * 1000, 6);
  return `I${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())} ${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())}.${micros}`;
}
