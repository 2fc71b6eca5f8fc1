// Colour only where it helps and never where it hurts: on a terminal,
// unless --no-color or NO_COLOR; FORCE_COLOR or --color turns it on anywhere.
// JSON and YAML are never coloured (their callers never decorate).
import { Chalk, type ChalkInstance } from 'chalk';

export function colorEnabled(flag: boolean | undefined, env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return isTTY;
}

export interface Palette {
  good(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
  bold(text: string): string;
  /** Colours a table cell by what it says (STATUS Running, AVAILABLE True, …). */
  cell(column: string, text: string): string;
}

const GOOD = new Set(['Running', 'Ready', 'Active', 'Completed', 'Available', 'True']);
const BAD = /^(NotReady|Error|CrashLoopBackOff|ErrImagePull|ImagePullBackOff|Failed|Degraded|Unknown|OOMKilled|Init:(Error|CrashLoopBackOff|ErrImagePull|ImagePullBackOff))/;

export function palette(enabled: boolean): Palette {
  const chalk: ChalkInstance = new Chalk({ level: enabled ? 1 : 0 });
  const colourCell = (column: string, text: string) => {
    if (column === 'Status' || column === 'Available') {
      if (GOOD.has(text) || /^Ready(,|$)/.test(text)) return chalk.green(text);
      if (BAD.test(text) || text === 'False') return chalk.red(text);
      return chalk.yellow(text);
    }
    if (column === 'Degraded' && text === 'True') return chalk.red(text);
    return text;
  };
  return {
    good: (t) => chalk.green(t),
    warn: (t) => chalk.yellow(t),
    bad: (t) => chalk.red(t),
    bold: (t) => chalk.bold(t),
    cell: enabled ? colourCell : (_column, text) => text,
  };
}
