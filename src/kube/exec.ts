// The plugin's one exec client: runs a command in a container through the API
// server's pods/exec over WebSocket, with the credentials, TLS, proxy and -v
// logging of every other request (KubeClient), and returns the command's
// output and exit code, or an ExecError saying what stood in the way.
// Import it lazily (`await import`): it loads `ws`, which only commands that
// run commands in pods need.
//
// The protocol (KEP-4006; client-go tools/remotecommand): we offer
// v5.channel.k8s.io, then v4.channel.k8s.io for API servers older than 1.30;
// every binary message is [stream][payload] (0 stdin, 1 stdout, 2 stderr, 3
// status); v5 half-closes stdin with [255, 0]; the exit status is one
// metav1.Status on stream 3, read once the server has closed the connection.
import WebSocket from 'ws';
import { CliError } from '../cli/errors.ts';
import { apiError, type KubeClient } from './client.ts';
import { connectionError, type KubeStatus } from './errors.ts';

export interface ExecOptions {
  namespace: string;
  pod: string;
  container: string;
  /** argv: the program (a path or a name looked up along the container's PATH) and its arguments. */
  command: string[];
  /** Sent as the command's stdin, which is then closed; without it the command gets no stdin. Needs v5.channel.k8s.io (Kubernetes 1.30+). */
  stdin?: string | Buffer;
  signal?: AbortSignal;
  /** For the whole exec, from connecting to the exit status (0: none). */
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr each (default 1 MiB); what comes beyond is counted in droppedBytes, not kept. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  /** The command's exit code: a non-zero one is a result, not an error. */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Bytes of each stream beyond maxOutputBytes, dropped. */
  droppedBytes: { stdout: number; stderr: number };
}

/**
 * Why a command could not run, for callers to report (a connectivity check
 * marks a probe as not run, not as failed):
 * - `program-missing`: the image has no such program (the runtime could not start it);
 * - `pod-not-found`, `container-unknown`: no such pod, or no such container in it;
 * - `pod-not-running`: the pod is not on a node yet, or the container is not running (pulling, crash-looping);
 * - `kubelet-unreachable`: the API server cannot reach the node's kubelet (`error dialing backend`);
 * - `forbidden`: RBAC refuses pods/exec;
 * - `transport`: the connection to the API server failed or broke, or the server was overloaded: worth retrying;
 * - `timeout`: timeoutMs ran out;
 * - `failed`: anything else the server reported (its message says what).
 */
export type ExecErrorKind = 'program-missing' | 'pod-not-found' | 'container-unknown' | 'pod-not-running' | 'kubelet-unreachable' | 'forbidden' | 'transport' | 'timeout' | 'failed';

export class ExecError extends CliError {
  readonly kind: ExecErrorKind;
  /** True when running the command again may work (transport failures). */
  readonly retryable: boolean;
  /** The server's own words, when it answered: a Status message or an error body. */
  readonly serverMessage: string | undefined;

  constructor(kind: ExecErrorKind, message: string, serverMessage?: string) {
    super(message);
    this.name = 'ExecError';
    this.kind = kind;
    this.retryable = kind === 'transport';
    this.serverMessage = serverMessage;
  }
}

const V5 = 'v5.channel.k8s.io';
const V4 = 'v4.channel.k8s.io';
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;
const FRAME_BYTES = 32 * 1024;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;

export async function exec(kube: KubeClient, options: ExecOptions): Promise<ExecResult> {
  const { namespace, pod, container, command } = options;
  const where = `${command[0] ?? ''} in ${namespace}/${pod} (container ${container})`;
  const upgrade = await kube.upgradeRequest(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec`, {
    command,
    container,
    stdin: options.stdin === undefined ? undefined : true,
    stdout: true,
    stderr: true,
  });
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const stdout = new BoundedBuffer(limit);
  const stderr = new BoundedBuffer(limit);
  const status: Buffer[] = [];
  const started = performance.now();

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    const socket = new WebSocket(upgrade.url, [V5, V4], { ...upgrade.connection, headers: upgrade.headers as Record<string, string>, perMessageDeflate: false, followRedirects: false });
    const finish = (outcome: ExecResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) {
        socket.terminate();
        reject(outcome);
      } else resolve(outcome);
    };
    const deadline = options.timeoutMs > 0 ? setTimeout(() => finish(new ExecError('timeout', `running ${where}: no exit status within ${options.timeoutMs / 1000}s`)), options.timeoutMs) : undefined;
    const onAbort = () => finish(options.signal!.reason as Error);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        kube.logUpgrade(upgrade.url, response.statusCode ?? 0, started);
        finish(refused(where, namespace, { statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      });
      response.on('error', (error) => finish(broken(where, error, kube.server)));
    });
    socket.on('upgrade', () => kube.logUpgrade(upgrade.url, 101, started));
    socket.on('open', () => {
      if (options.stdin === undefined) return;
      if (socket.protocol !== V5) {
        finish(new ExecError('failed', `running ${where}: the API server speaks ${socket.protocol}, which cannot close stdin (Kubernetes 1.30 or later is needed)`));
        return;
      }
      const input = Buffer.from(options.stdin);
      for (let at = 0; at < input.length; at += FRAME_BYTES) socket.send(Buffer.concat([Buffer.from([STDIN]), input.subarray(at, at + FRAME_BYTES)]));
      socket.send(Buffer.from([CLOSE, STDIN]));
    });
    socket.on('message', (data: Buffer, binary: boolean) => {
      if (!binary) return finish(new ExecError('transport', `running ${where}: the API server sent a text message on an exec stream`));
      const payload = data.subarray(1);
      if (data[0] === STDOUT) stdout.add(payload);
      else if (data[0] === STDERR) stderr.add(payload);
      else if (data[0] === STATUS) status.push(payload);
    });
    socket.on('close', () => {
      if (settled) return;
      const text = Buffer.concat(status).toString('utf8');
      if (!text) return finish(new ExecError('transport', `running ${where}: the connection closed before the command's exit status arrived`));
      const exitCode = exitCodeOf(where, text);
      if (exitCode instanceof Error) return finish(exitCode);
      finish({ exitCode, stdout: stdout.text(), stderr: stderr.text(), droppedBytes: { stdout: stdout.dropped, stderr: stderr.dropped } });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      kube.logUpgrade(upgrade.url, error, started);
      finish(broken(where, error, kube.server));
    });
  });
}

/** Keeps the first `limit` bytes of a stream and counts the rest. */
class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  add(chunk: Buffer): void {
    const room = Math.max(0, this.limit - this.kept);
    if (chunk.length > room) this.dropped += chunk.length - room;
    if (room > 0) {
      const kept = chunk.subarray(0, room);
      this.chunks.push(kept);
      this.kept += kept.length;
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The status on stream 3, as client-go's v4/v5 error decoder reads it: an exit code, or the failure classified. */
function exitCodeOf(where: string, text: string): number | ExecError {
  let status: KubeStatus & { status?: string };
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    return new ExecError('failed', `running ${where}: the exec status is not a Status: ${text.slice(0, 200)}`);
  }
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code) && code >= 0 && code <= 255) return code;
    return new ExecError('failed', `running ${where}: the exec status gives no exit code: ${text.slice(0, 200)}`);
  }
  const message = status.message ?? text;
  const missing = /exec: "([^"]*)": (?:executable file not found in \$PATH|stat [^:]*: no such file or directory)/.exec(message);
  if (missing) return new ExecError('program-missing', `running ${where}: the container's image has no "${missing[1]}"`, message);
  if (/unable to upgrade connection: (?:container not found|pod does not exist)/.test(message)) {
    return new ExecError('pod-not-running', `running ${where}: the container is not running`, message);
  }
  if (/error dialing backend: |error sending request: \w+ "[^"]*\/exec\//.test(message)) {
    return new ExecError('kubelet-unreachable', `running ${where}: the API server cannot reach the node's kubelet: ${message}`, message);
  }
  return new ExecError('failed', `running ${where}: ${message}`, message);
}

/** The API server answered the upgrade with an error instead of switching protocols. */
function refused(where: string, namespace: string, response: { statusCode: number; headers: Record<string, string | string[] | undefined>; body: Buffer }): ExecError {
  const error = apiError(response);
  const message = error.status.message ?? '';
  const kind = ((): ExecErrorKind => {
    if (response.statusCode === 403) return 'forbidden';
    if (response.statusCode === 404 && error.reason === 'NotFound' && error.status.details?.kind === 'pods') return 'pod-not-found';
    if (response.statusCode === 400 && / is not valid for pod /.test(message)) return 'container-unknown';
    if (response.statusCode === 400 && / does not have a host assigned$/.test(message)) return 'pod-not-running';
    if (/^container not found \(|^pod does not exist$/.test(message)) return 'pod-not-running';
    if (/^error dialing backend: /.test(message)) return 'kubelet-unreachable';
    if ([429, 500, 502, 503, 504].includes(response.statusCode)) return 'transport';
    return 'failed';
  })();
  const serverMessage = message || response.body.toString('utf8').trim().slice(0, 200);
  if (kind === 'forbidden') {
    // From Kubernetes 1.35 a WebSocket exec needs `create` as well as `get`, and that 403 names neither: name both.
    return new ExecError(kind, `running ${where}: forbidden: running commands needs "get" and "create" on "pods/exec" in the namespace "${namespace}" (${serverMessage.trim().replace(/:$/, '')})`, serverMessage);
  }
  return new ExecError(kind, `running ${where}: ${error.message}`, serverMessage);
}

/** No answer, or the connection broke: a transport failure, unless TLS verification refused the server. */
function broken(where: string, error: NodeJS.ErrnoException, server: string): ExecError {
  const described = connectionError(error, server);
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS/.test(described.code);
  return new ExecError(tls ? 'failed' : 'transport', `running ${where}: ${described.message}`);
}
