// One diagnostics run: the bundle being written, its own log (diags.log),
// the bound on requests in flight, and the count of what could not be
// collected. Every item goes through item(): whatever one throws (a missing
// permission, an unreachable kubelet, an answer that is not JSON, a bug) is
// logged and counted, never the end of the run — but for the archive itself
// failing to be written, which stops the run at once.
import yaml from 'yaml';
import { CliError } from '../../cli/errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { ApiError } from '../../kube/errors.ts';
import { ExecError } from '../../kube/exec.ts';
import { listPages } from '../../kube/list.ts';
import type { ProgressItem } from '../../print/diags-progress.ts';
import { BundleWriteError, type BundleFile } from './archive.ts';
import { redactObject } from './redact.ts';

export class DiagsRun {
  readonly bundle: BundleFile;
  /** Aborted by Ctrl-C, or by the archive failing to be written: nothing more is started. */
  readonly signal: AbortSignal;
  /** Items that could not be collected, each listed in diags.log. */
  uncollected = 0;
  /** The first of them, with why: what an error says when nothing could be read. */
  firstFailure: string | undefined;
  /** Items read from the cluster (not the plugin's own files): none means nothing could be read. */
  fromCluster = 0;
  private readonly controller = new AbortController();
  private readonly log: string[] = [];
  private readonly onItem: (outcome: ProgressItem) => void;
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(bundle: BundleFile, options: { concurrency: number; signal: AbortSignal; onItem: (outcome: ProgressItem) => void }) {
    this.bundle = bundle;
    this.signal = this.controller.signal;
    this.limit = options.concurrency;
    this.onItem = options.onItem;
    const forward = () => this.controller.abort(options.signal.reason);
    if (options.signal.aborted) forward();
    else options.signal.addEventListener('abort', forward, { once: true });
  }

  note(message: string): void {
    this.log.push(`${new Date().toISOString()} ${message}`);
  }

  /** An item that could not be collected: logged with its reason, counted, reported. */
  skip(path: string, reason: string): void {
    this.uncollected++;
    this.firstFailure ??= `${path}: ${reason}`;
    this.note(`not collected: ${path}: ${reason}`);
    this.onItem({ path, failure: reason });
  }

  /** Adds a file; `fromCluster` false for one that does not show the cluster answered. */
  async add(path: string, data: string | Buffer | readonly Buffer[], producer: string, truncatedBytes?: number, fromCluster = true): Promise<void> {
    if (fromCluster) this.fromCluster++;
    await this.bundle.add(path, data, producer, truncatedBytes);
    this.onItem({ path, bytes: typeof data === 'string' || Buffer.isBuffer(data) ? Buffer.byteLength(data) : data.reduce((sum, piece) => sum + piece.length, 0) });
  }

  /** A document of the plugin's own (status, version), redacted, as YAML. */
  async addObject(path: string, object: unknown, producer: string): Promise<void> {
    await this.add(path, yaml.stringify(redactObject(object), { lineWidth: 0, aliasDuplicateObjects: false }), producer);
  }

  /**
   * A list read from the API page by page, each page redacted and turned into text as it comes, written as JSON (a
   * `List` as `kubectl get -o json` gives it, an item a line: JSON is an order of magnitude cheaper to write than
   * YAML, and on one line a third smaller): a list of thousands of pods is neither held whole nor serialized in one
   * stretch that stops everything else. `each` sees every page's items as read (before redaction); `summary`
   * replaces each item (a Secret's name, type and key names).
   */
  async addList<T>(path: string, kube: KubeClient, apiPath: string, options: { query?: Record<string, string>; note?: string; each?: (items: T[]) => void; summary?: (item: T) => object } = {}): Promise<void> {
    const lines: Buffer[] = [];
    await listPages<T>(kube, apiPath, { query: options.query, signal: this.signal }, (items) => {
      options.each?.(items);
      for (const item of items) lines.push(listItem(options.summary ? options.summary(item) : item));
    });
    const query = new URLSearchParams(options.query).toString();
    await this.add(path, listText(lines), `GET ${apiPath}${query ? `?${query}` : ''}${options.note ? ` (${options.note})` : ''}`);
  }

  /** A list already read (the nodes, read before anything else), written as addList() writes one. */
  async addItems(path: string, items: unknown[], producer: string): Promise<void> {
    await this.add(path, listText(items.map(listItem)), producer);
  }

  /** Runs `work` for `path` within the bound on requests in flight; what it throws makes the item uncollected. */
  async item(path: string, work: () => Promise<void>): Promise<void> {
    if (this.signal.aborted) return;
    await this.slot();
    try {
      if (this.signal.aborted) return;
      await work();
    } catch (error) {
      if (error instanceof BundleWriteError) {
        this.controller.abort(error);
        throw error;
      }
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

/** An item of a JSON List, redacted, on one line: grep finds an object's line, `jq` lays it out. */
function listItem(item: unknown): Buffer {
  return Buffer.from(JSON.stringify(redactObject(item)));
}

const SEPARATOR = Buffer.from(',\n');

/** The List around its items, one a line, as pieces: the items are not copied into one buffer. */
function listText(lines: Buffer[]): Buffer[] {
  return [Buffer.from('{"apiVersion":"v1","kind":"List","items":[\n'), ...lines.flatMap((line, i) => (i ? [SEPARATOR, line] : [line])), Buffer.from(`${lines.length ? '\n' : ''}]}\n`)];
}

/**
 * A failure in diags.log's words: a refused permission says so, with the server's message naming the verb and
 * resource; an answer that is not JSON (a proxy's error page) says so; anything else is a bug of the plugin's and
 * says where, so that it is reported (and a test that reads diags.log sees it).
 */
export function describeFailure(error: unknown): string {
  if (error instanceof ApiError && error.statusCode === 403) return `forbidden (missing permission): ${error.message}`;
  if (error instanceof ExecError) return `${error.kind}: ${error.message}`;
  if (error instanceof CliError) return error.message;
  if (error instanceof SyntaxError) return `the answer is not JSON: ${error.message}`;
  if (error instanceof Error) return `unexpected error (a bug in kubectl-calico, please report it): ${error.name}: ${error.message} ${error.stack?.split('\n').find((line) => /^\s+at /.test(line))?.trim() ?? ''}`.trimEnd();
  return `unexpected error (a bug in kubectl-calico, please report it): ${String(error)}`;
}
