// pods/exec as kube-apiserver serves it, with the kubelet and the container
// runtime behind it simulated (programs/ holds what runs in a container).
//
// Following the real chain:
// - ExecREST.Connect (pkg/registry/core/pod/rest/subresources.go): from 1.35
//   a request not already authorised as `create` must also be allowed
//   `create` on pods/exec (AuthorizePodWebsocketUpgradeCreatePermission);
//   then ExecLocation (pkg/registry/core/pod/strategy.go): the pod (404), the
//   container (400), the node (400 without one), the kubelet's address.
// - A WebSocket request offering v5.channel.k8s.io goes to the stream
//   translator (k8s.io/apiserver/pkg/util/proxy): it upgrades first, then
//   dials the kubelet over SPDY; every later failure is a metav1.Status on
//   stream 3, worded by the translator (`Internal error occurred: …`,
//   `command terminated with non-zero exit code: command terminated with exit
//   code N`), and the connection ends with a normal close.
// - Any other WebSocket request is proxied to the kubelet as is (the
//   UpgradeAwareHandler): a kubelet that cannot be dialled is a 500 `error
//   dialing backend: …`, the kubelet's refusals are echoed as it wrote them,
//   and the runtime's streaming server (kubelet cri/streaming/remotecommand)
//   speaks v4.channel.k8s.io with its own status texts.
// - Simulation limits: the kubelet here speaks no SPDY, so a request the
//   upgrade-aware handler cannot upgrade (no upgrade, or SPDY's POST) is
//   answered as kube-apiserver answers a request that is not an upgrade: 400
//   `Upgrade request required`. Of the kubelet's WebSocket protocols only
//   v4.channel.k8s.io is simulated. A TTY merges stderr into stdout and turns
//   LF into CRLF as a pty would; input is not echoed and resize messages are
//   read and ignored. A program's output is sent when it ends, not as it is
//   written; dialling the kubelet takes 5 ms, and an unreachable one fails after
//   those 5 ms, not after a dial timeout; a program starts at once (runc exec
//   takes tens of ms).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { attributesOf } from './auth.ts';
import { nodeInternalIP } from './controllers/ipam.ts';
import { imageContents, NotSimulated, resolveProgram } from './programs/index.ts';
import type { RestContext } from './rest.ts';
import { badRequest, StatusError } from './status.ts';
import type { KubeObject } from './types.ts';

/** How dialling a node's kubelet fails, as Go's net package words it. */
export type KubeletDialFailure = 'i/o timeout' | 'connect: connection refused';

/** The socket of a request that asked for a protocol upgrade, handed over by the HTTP server. */
export interface Upgrade {
  socket: Duplex;
  head: Buffer;
}

const V5 = 'v5.channel.k8s.io';
const V4 = 'v4.channel.k8s.io';
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
/** v5's stream close signal: `[255, stream]`. */
const CLOSE = 255;
/** The translator copies streams with io.Copy's 32 KiB buffer: one frame per buffer. */
const FRAME_BYTES = 32 * 1024;
/**
 * The translator dials the kubelet only after the upgrade: a new TCP connection, a TLS handshake with the API
 * server's client certificate and the SPDY upgrade POST, a few ms on a LAN. Nothing after the upgrade's empty
 * message can reach the client sooner, which leaves kubectl 1.30–1.33 the time to create its streams before
 * anything else arrives (kubernetes#131189: a message read before then is discarded, a status among them).
 */
const KUBELET_DIAL_MS = 5;

interface ExecOptions {
  command: string[];
  container: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

interface Target {
  pod: KubeObject;
  container: { name: string; image: string };
  options: ExecOptions;
  node: string;
  /** host:port of the node's kubelet. */
  kubelet: string;
  /** The kubelet URL the API server dials, as error messages quote it. */
  kubeletUrl: string;
}

/** A metav1.Status as written on stream 3: no kind or apiVersion. */
type StreamStatus = Record<string, unknown>;

/** What the program run came to: an exit code and its output, or the runtime's failure to start it. */
type Outcome = { exitCode: number; stdout: Buffer; stderr: Buffer } | { runtimeError: string };

/** GET or POST on pods/exec: a WebSocket session, or the answer kube-apiserver gives before one. */
export function serveExec(ctx: RestContext): void | 'streaming' {
  const target = locate(ctx);
  if (!ctx.upgrade || !isWebSocketRequest(ctx.request)) throw badRequest('Upgrade request required');
  if (offered(ctx.request).includes(V5)) {
    open(ctx, ctx.upgrade, V5, target);
    return 'streaming';
  }
  const dial = dialFailure(ctx, target);
  // A plain error: the responder makes it a 500 Status without a reason, as kube-apiserver's does.
  if (dial) throw new Error(`error dialing backend: ${dial}`);
  const refusal = kubeletRefusal(target);
  if (refusal) {
    ctx.response.writeHead(refusal.code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(refusal.text) });
    ctx.response.end(refusal.text);
    return;
  }
  if (!offered(ctx.request).includes(V4)) {
    // golang.org/x/net/websocket's answer when wsstream's handshake finds no protocol in common.
    ctx.response.writeHead(403, { 'Content-Length': 0 });
    ctx.response.end();
    return;
  }
  open(ctx, ctx.upgrade, V4, target);
  return 'streaming';
}

/** ExecREST.Connect up to ExecLocation: who may, which pod, container and node. */
function locate(ctx: RestContext): Target {
  const { api, info } = ctx;
  const name = info.name!;
  if (api.minor >= 35 && info.verb !== 'create' && !ctx.authorizer.authorize({ ...attributesOf(info, ctx.user), verb: 'create' }).allowed) {
    // ensureAuthorizedForVerb: NewForbidden with the authorizer's reason, which RBAC leaves empty on a denial.
    throw new StatusError(403, 'Forbidden', `pods "${name}" is forbidden: `, { name, kind: 'pods' });
  }
  const options = execOptions(ctx.url);
  const pod = api.get(api.registry.byKey('pods')!, info.namespace, name);
  const spec = pod.spec as PodSpec;
  const container = validContainer(spec, name, options.container);
  if (!spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const node = api.get(api.registry.byKey('nodes')!, undefined, spec.nodeName);
  const ip = nodeInternalIP(ctx.runtime, spec.nodeName);
  const port = (node.status as { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } | undefined)?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
  const kubelet = `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
  const kubeletUrl = `https://${kubelet}/exec/${pod.metadata.namespace}/${name}/${container.name}?${kubeletQuery(options)}`;
  return { pod, container, options: { ...options, container: container.name }, node: spec.nodeName, kubelet, kubeletUrl };
}

interface PodSpec {
  nodeName?: string;
  containers: { name: string; image: string }[];
  initContainers?: { name: string; image: string }[];
  ephemeralContainers?: { name: string; image: string }[];
}

/** validateContainer: a named container must be one of the pod's (init, regular, ephemeral); none named is the only one. */
function validContainer(spec: PodSpec, pod: string, name: string): { name: string; image: string } {
  const all = [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])];
  if (name) {
    const found = all.find((c) => c.name === name);
    if (!found) throw badRequest(`container ${name} is not valid for pod ${pod}`);
    return found;
  }
  if (spec.containers.length === 1) return spec.containers[0]!;
  if (spec.containers.length === 0) throw badRequest(`a container name must be specified for pod ${pod}`);
  throw badRequest(`a container name must be specified for pod ${pod}, choose one of: [${all.map((c) => c.name).join(' ')}]`);
}

/** PodExecOptions from the query, booleans as strconv.ParseBool reads them. */
function execOptions(url: URL): ExecOptions {
  const flag = (name: string) => ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(url.searchParams.get(name) ?? '');
  return {
    command: url.searchParams.getAll('command'),
    container: url.searchParams.get('container') ?? '',
    stdin: flag('stdin'),
    stdout: flag('stdout'),
    stderr: flag('stderr'),
    tty: flag('tty'),
  };
}

/** streamParams, encoded as Go's url.Values.Encode does (keys sorted, QueryEscape). */
function kubeletQuery(options: ExecOptions): string {
  const escape = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
  const flags = ([['error', options.stderr], ['input', options.stdin], ['output', options.stdout], ['tty', options.tty]] as const).filter(([, on]) => on);
  const params: [string, string][] = [...options.command.map((c): [string, string] => ['command', c]), ...flags.map(([key]): [string, string] => [key, '1'])];
  return params.map(([key, value]) => `${key}=${escape(value)}`).join('&');
}

function isWebSocketRequest(request: IncomingMessage): boolean {
  const connection = String(request.headers.connection ?? '').toLowerCase();
  return String(request.headers.upgrade ?? '').toLowerCase() === 'websocket' && connection.includes('upgrade');
}

function offered(request: IncomingMessage): string[] {
  return String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

function dialFailure(ctx: RestContext, target: Target): string | undefined {
  const failure = ctx.unreachableKubelets.get(target.node);
  return failure && `dial tcp ${target.kubelet}: ${failure}`;
}

/** What the kubelet's exec handler answers before any stream: its option check, then findContainer among running containers. */
function kubeletRefusal(target: Target): { code: number; text: string } | undefined {
  const { options } = target;
  if (!options.stdin && !options.stdout && !options.stderr) return { code: 400, text: 'you must specify at least 1 of stdin, stdout, stderr' };
  const status = target.pod.status as { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[]; ephemeralContainerStatuses?: ContainerStatus[] } | undefined;
  const statuses = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? []), ...(status?.ephemeralContainerStatuses ?? [])];
  if (!statuses.some((s) => s.name === target.container.name && s.state?.running)) return { code: 500, text: `container not found ("${target.container.name}")` };
  return undefined;
}

interface ContainerStatus {
  name: string;
  state?: { running?: object };
}

/** What the client receives once upgraded: the command's output, then its status. */
interface Session {
  stdout?: Buffer;
  stderr?: Buffer;
  status: StreamStatus;
}

/** Accepts the WebSocket, feeds stdin to the program, then writes its output and status and closes normally. */
function open(ctx: RestContext, upgrade: Upgrade, protocol: string, target: Target): void {
  const { options } = target;
  // The translator opens stderr when asked; the kubelet drops it with a TTY (remotecommand NewOptions).
  const stderrStream = options.stderr && !(protocol === V4 && options.tty);
  chosenProtocol.set(ctx.request, protocol);
  ctx.response.detachSocket(upgrade.socket as never);
  websockets.handleUpgrade(ctx.request, upgrade.socket, upgrade.head, (ws) => {
    ctx.response.statusCode = 101;
    const ended = new AbortController();
    const input: Buffer[] = [];
    let endInput = () => {};
    const inputClosed = options.stdin ? new Promise<void>((resolve) => { endInput = resolve; }) : Promise.resolve();
    ws.on('message', (data: RawData) => {
      const frame = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
      if (protocol === V5 && frame[0] === CLOSE) {
        if (frame[1] === STDIN) endInput();
      } else if (frame[0] === STDIN && options.stdin) input.push(frame.subarray(1));
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      ended.abort();
      endInput();
      ctx.done();
    });
    const send = (stream: number, data: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([stream]), data]));
    };
    send(options.stdout ? STDOUT : stderrStream ? STDERR : ERROR, Buffer.alloc(0));
    const stdin = () => inputClosed.then(() => Buffer.concat(input));
    session(ctx, target, protocol, stdin, ended.signal).then((result) => {
      let { stdout = Buffer.alloc(0), stderr = Buffer.alloc(0) } = result;
      if (options.tty) {
        stdout = Buffer.from(Buffer.concat([stdout, stderr]).toString('utf8').replace(/\r?\n/g, '\r\n'));
        stderr = Buffer.alloc(0);
      }
      for (const [stream, data, wanted] of [[STDOUT, stdout, options.stdout], [STDERR, stderr, stderrStream]] as const) {
        for (let at = 0; wanted && at < data.length; at += FRAME_BYTES) send(stream, data.subarray(at, at + FRAME_BYTES));
      }
      send(ERROR, Buffer.from(JSON.stringify(result.status)));
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    }, () => ws.terminate());
  });
}

const chosenProtocol = new WeakMap<IncomingMessage, string>();

/** perMessageDeflate off, as kube-apiserver's WebSocket servers offer no compression. */
const websockets = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  perMessageDeflate: false,
  handleProtocols: (_offered, request) => chosenProtocol.get(request) ?? false,
});

/** The translator's checks after the upgrade (each a status on stream 3), then the run; or the runtime server's run. */
async function session(ctx: RestContext, target: Target, protocol: string, stdin: () => Promise<Buffer>, signal: AbortSignal): Promise<Session> {
  const translating = protocol === V5;
  if (translating) {
    await new Promise((resolve) => setTimeout(resolve, KUBELET_DIAL_MS)); // the dial, whether it connects or not
    const dial = dialFailure(ctx, target);
    if (dial) return { status: internalError(`error sending request: Post "${target.kubeletUrl}": ${dial}`) };
    const refusal = kubeletRefusal(target);
    if (refusal) return { status: internalError(`unable to upgrade connection: ${refusal.text}`) };
  }
  let outcome: Outcome;
  try {
    outcome = await run(ctx, target, stdin, signal);
  } catch (error) {
    if (error instanceof NotSimulated) return { status: internalError(`test cluster: ${error.message}`) };
    throw error;
  }
  if ('runtimeError' in outcome) {
    // The runtime's streaming server reports it as an internal error; the translator's SPDY client returns that
    // message as a plain error, which the translator wraps once more.
    const runtime = `Internal error occurred: error executing command in container: ${outcome.runtimeError}`;
    return { status: translating ? internalError(runtime) : internalError(runtime.slice('Internal error occurred: '.length)) };
  }
  const { exitCode, stdout, stderr } = outcome;
  if (exitCode === 0) return { stdout, stderr, status: { metadata: {}, status: 'Success' } };
  const message = translating
    ? `command terminated with non-zero exit code: command terminated with exit code ${exitCode}`
    : `command terminated with non-zero exit code: error executing command [${target.options.command.join(' ')}], exit code ${exitCode}`;
  return { stdout, stderr, status: { metadata: {}, status: 'Failure', message, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] } } };
}

/** The container runtime's exec: argv[0] resolved as runc does, then the program. */
async function run(ctx: RestContext, target: Target, stdin: () => Promise<Buffer>, signal: AbortSignal): Promise<Outcome> {
  const image = imageContents(target.container.image);
  if (!image) throw new NotSimulated(`the contents of image "${target.container.image}" are not simulated (test/cluster/programs)`);
  const argv = target.options.command;
  if (argv.length === 0) throw new NotSimulated('an exec without a command is not simulated');
  const found = resolveProgram(image, argv[0]!);
  if ('error' in found) {
    const execId = randomBytes(32).toString('hex');
    return { runtimeError: `failed to exec in container: failed to start exec "${execId}": OCI runtime exec failed: exec failed: unable to start container process: ${found.error}: unknown` };
  }
  const result = await found.program({ runtime: ctx.runtime, pod: target.pod, container: target.container, image, argv, stdin, signal });
  return { exitCode: result.exitCode & 0xff, stdout: Buffer.from(result.stdout ?? ''), stderr: Buffer.from(result.stderr ?? '') };
}

/** apierrors.NewInternalError as json.Marshal writes it. */
function internalError(message: string): StreamStatus {
  return { metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
}
