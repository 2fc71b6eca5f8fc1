// One diagnostics run: the bundle being written, its own log (diags.log),
// the bound on requests in flight, and the count of what could not be
// collected. Every item goes through item(): a failure of one (a missing
// permission, an unreachable kubelet, a request error) is logged and counted,
// never the end of the run.
import yaml from 'yaml';
import { ApiError, ConnectionError } from '../../kube/errors.ts';
import { ExecError } from '../../kube/exec.ts';
import type { BundleFile } from './archive.ts';
import { redactObject } from './redact.ts';

export interface ItemOutcome {
  path: string;
  /** Collected (bytes written), or why not. */
  bytes?: number;
  failure?: string;
}

export class DiagsRun {
  readonly bundle: BundleFile;
  readonly signal: AbortSignal;
  /** Items that could not be collected, each listed in diags.log. */
  uncollected = 0;
  /** Items read from the cluster (not the plugin's own files): none means nothing could be read. */
  fromCluster = 0;
  private readonly log: string[] = [];
  private readonly onItem: (outcome: ItemOutcome) => void;
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(bundle: BundleFile, options: { concurrency: number; signal: AbortSignal; onItem: (outcome: ItemOutcome) => void }) {
    this.bundle = bundle;
    this.signal = options.signal;
    this.limit = options.concurrency;
    this.onItem = options.onItem;
  }

  note(message: string): void {
    this.log.push(`${new Date().toISOString()} ${message}`);
  }

  /** An item that could not be collected: logged with its reason, counted, reported. */
  skip(path: string, reason: string): void {
    this.uncollected++;
    this.note(`not collected: ${path}: ${reason}`);
    this.onItem({ path, failure: reason });
  }

  /** Adds a file; `fromCluster` false for one that does not show the cluster answered. */
  async add(path: string, data: string | Buffer, producer: string, truncatedBytes?: number, fromCluster = true): Promise<void> {
    if (fromCluster) this.fromCluster++;
    await this.bundle.add(path, data, producer, truncatedBytes);
    this.onItem({ path, bytes: Buffer.byteLength(data) });
  }

  /** An object or list, redacted, as YAML with a comment line on top when given. */
  async addObject(path: string, object: unknown, producer: string, comment?: string): Promise<void> {
    const text = yaml.stringify(redactObject(object), { lineWidth: 0, aliasDuplicateObjects: false });
    await this.add(path, `${comment ? `# ${comment}\n` : ''}${text}`, producer);
  }

  /** Runs `work` for `path` within the bound on requests in flight; what it throws makes the item uncollected. */
  async item(path: string, work: () => Promise<void>): Promise<void> {
    if (this.signal.aborted) return;
    await this.slot();
    try {
      if (this.signal.aborted) return;
      await work();
    } catch (error) {
      if (this.signal.aborted) return;
      this.skip(path, describeFailure(error));
    } finally {
      this.release();
    }
  }

  /** diags.log: every failure and skip, in the order they happened. */
  logText(): string {
    return this.log.length ? `${this.log.join('\n')}\n` : '';
  }

  private async slot(): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

/** A failure in diags.log's words: a refused permission says so, with the server's message naming the verb and resource. */
export function describeFailure(error: unknown): string {
  if (error instanceof ApiError && error.statusCode === 403) return `forbidden (missing permission): ${error.message}`;
  if (error instanceof ExecError) return `${error.kind}: ${error.message}`;
  if (error instanceof ApiError || error instanceof ConnectionError) return error.message;
  throw error;
}
