import type { Writable } from 'node:stream';
import { UsageError } from '../cli/errors.ts';

export const API_VERSION = 'kubectl-calico/v1alpha1';

export type MachineFormat = 'json' | 'yaml';
export type OutputFormat = 'text' | 'wide' | MachineFormat;

export interface ReportStreams {
  stdout: Writable;
  stderr: Writable;
}

/** Parses `-o`; `allowed` lists what the command supports besides text. */
export function parseOutput(value: string | undefined, allowed: readonly OutputFormat[]): OutputFormat {
  if (value === undefined || value === '') return 'text';
  if ((allowed as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`unable to match a printer suitable for the output format "${value}", allowed formats are: ${allowed.join(',')}`);
}

/**
 * Collects the facts a command reports, once, and renders them: as text
 * through the command's renderer, or as a `kubectl-calico/v1alpha1`
 * document in JSON or YAML. Warnings always go to stderr, like kubectl's.
 */
export class Report<Doc extends object> {
  readonly kind: string;
  readonly format: OutputFormat;
  private readonly streams: ReportStreams;
  private readonly facts: Partial<Doc> = {};
  private readonly warnings: string[] = [];

  constructor(kind: string, format: OutputFormat, streams: ReportStreams) {
    this.kind = kind;
    this.format = format;
    this.streams = streams;
  }

  get machine(): boolean {
    return this.format === 'json' || this.format === 'yaml';
  }

  set<K extends keyof Doc>(key: K, value: Doc[K]): void {
    this.facts[key] = value;
  }

  setAll(facts: Partial<Doc>): void {
    Object.assign(this.facts, facts);
  }

  get<K extends keyof Doc>(key: K): Doc[K] | undefined {
    return this.facts[key];
  }

  warn(message: string): void {
    this.warnings.push(message);
    this.streams.stderr.write(`Warning: ${message}\n`);
  }

  /**
   * Writes the report: `render` turns the facts into text; for JSON and
   * YAML they are serialised in the envelope, through `machine` when their
   * shape for machines differs (tables become records).
   */
  async finish(render: (facts: Partial<Doc>, format: OutputFormat) => string, machine: (facts: Partial<Doc>) => object = (facts) => facts): Promise<void> {
    if (!this.machine) {
      this.streams.stdout.write(render(this.facts, this.format));
      return;
    }
    const document = { apiVersion: API_VERSION, kind: this.kind, ...machine(this.facts), ...(this.warnings.length ? { warnings: this.warnings } : {}) };
    this.streams.stdout.write(await serialize(document, this.format as MachineFormat));
  }
}

export async function serialize(document: unknown, format: MachineFormat): Promise<string> {
  if (format === 'json') return `${JSON.stringify(document, null, 4)}\n`;
  const { stringify } = await import('yaml');
  return stringify(document, { lineWidth: 0 });
}
