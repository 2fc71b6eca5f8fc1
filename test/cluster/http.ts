// The HTTPS front of the test cluster: authentication and authorization,
// the fault knobs (latency, errors, dropped watches, unreachable kubelets),
// the request log, discovery and OpenAPI, and the resource endpoints of
// rest.ts — for plain requests and for protocol upgrades (pods/exec) alike.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Api } from './api.ts';
import { attributesOf, type Authenticator, type Authorizer, forbidden, PUBLIC_PATHS, ANONYMOUS } from './auth.ts';
import { aggregatedDiscovery, aggregatedVersion, AGGREGATED_V2, AGGREGATED_V2BETA1, apiGroup, apiGroupList, apiResourceList, apiVersions, type OpenApi } from './discovery.ts';
import type { Runtime } from './controllers/runtime.ts';
import type { KubeletDialFailure, Upgrade } from './exec.ts';
import type { PodLogs } from './logs.ts';
import { PatchError } from './patch.ts';
import { handleResource, PlainNotFound } from './rest.ts';
import { requestInfo } from './routes.ts';
import { internalError, notFoundPath, StatusError, tooManyRequests, unauthorized } from './status.ts';

export interface Faults {
  /** Added to every request before it is handled. */
  latencyMs: number;
  /** Fraction of API requests answered 500 or 429 (with Retry-After) instead. */
  errorRate: number;
  /** Watches are cut after this long. */
  dropWatchesAfterMs: number | undefined;
  random: () => number;
  /** Requests this matches (method and path) are answered 500, every time: a server that breaks part-way through. */
  failing?: (method: string, path: string) => boolean;
  /** Nodes whose kubelet the API server cannot dial (exec fails with `error dialing backend`), and how dialling fails. */
  unreachableKubelets: Map<string, KubeletDialFailure>;
}

export interface RequestLogEntry {
  time: string;
  method: string;
  path: string;
  status: number;
  ms: number;
  user: string;
  userAgent: string;
}

export interface ServerDeps {
  api: Api;
  authenticator: Authenticator;
  authorizer: Authorizer;
  openapi: OpenApi;
  logs: PodLogs;
  runtime: Runtime;
  version: { major: string; minor: string; gitVersion: string };
  faults: Faults;
  requestLog: RequestLogEntry[];
  requestLogFile: string | undefined;
  bookmarkIntervalMs: number;
}

const MAX_BODY = 16 * 1024 * 1024;

/** Serves a request; an upgrade request also hands over its socket. */
export type Handler = (request: IncomingMessage, response: ServerResponse, upgrade?: Upgrade) => void;

export function createHandler(deps: ServerDeps): Handler {
  return (request, response, upgrade) => {
    const started = performance.now();
    let user = ANONYMOUS.name;
    const log = () => {
      const entry: RequestLogEntry = {
        time: new Date().toISOString(),
        method: request.method ?? '',
        path: request.url ?? '',
        status: response.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        user,
        userAgent: String(request.headers['user-agent'] ?? ''),
      };
      deps.requestLog.push(entry);
      if (deps.requestLogFile) fs.appendFileSync(deps.requestLogFile, `${JSON.stringify(entry)}\n`);
    };
    readBody(request).then(async (body) => {
      if (deps.faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, deps.faults.latencyMs));
      const caller = deps.authenticator.authenticate(request);
      user = caller?.name ?? 'invalid-credentials';
      const streaming = serve(deps, request, response, body, caller, upgrade, log);
      if (streaming !== 'streaming') log();
    }).catch((error: unknown) => {
      sendError(response, error);
      log();
    });
  };
}

function serve(deps: ServerDeps, request: IncomingMessage, response: ServerResponse, body: Buffer, caller: ReturnType<Authenticator['authenticate']>, upgrade: Upgrade | undefined, log: () => void): void | 'streaming' {
  const url = new URL(request.url ?? '/', 'https://127.0.0.1');
  const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => sendJson(response, status, payload, headers);
  try {
    if (!caller) throw unauthorized();
    if (PUBLIC_PATHS.has(url.pathname) && request.method === 'GET') return publicEndpoint(deps, url.pathname, reply, response);
    if (caller === ANONYMOUS) throw unauthorized();
    if (deps.faults.failing?.(request.method ?? 'GET', url.pathname)) throw internalError('injected fault');
    if (deps.faults.errorRate > 0 && deps.faults.random() < deps.faults.errorRate) {
      throw deps.faults.random() < 0.5 ? internalError('injected fault') : tooManyRequests(1);
    }
    const info = requestInfo(request.method ?? 'GET', url);
    const attributes = attributesOf(info, caller);
    if (!deps.authorizer.authorize(attributes).allowed) throw forbidden(attributes);
    if (!info.isResource) return nonResource(deps, url, request, reply);
    return handleResource({
      api: deps.api,
      authorizer: deps.authorizer,
      logs: deps.logs,
      runtime: deps.runtime,
      request,
      response,
      url,
      info,
      user: caller,
      body,
      dropWatchesAfterMs: deps.faults.dropWatchesAfterMs,
      bookmarkIntervalMs: deps.bookmarkIntervalMs,
      upgrade,
      unreachableKubelets: deps.faults.unreachableKubelets,
      done: log,
    }, reply);
  } catch (error) {
    sendError(response, error);
  }
}

/**
 * The HTTP server's 'upgrade' listener: every request asking for a protocol
 * upgrade goes through the same handler as plain requests, with a response
 * written on its socket, so that authentication, faults, authorization, the
 * request log and every error answer are the same; an endpoint that upgrades
 * (pods/exec over WebSocket) takes the socket over instead.
 */
export function upgradeListener(handler: Handler): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (request, socket, head) => {
    const response = new ServerResponse(request);
    response.shouldKeepAlive = false;
    response.assignSocket(socket as never);
    response.on('finish', () => {
      response.detachSocket(socket as never);
      socket.end();
    });
    handler(request, response, { socket, head });
  };
}

function publicEndpoint(deps: ServerDeps, path: string, reply: (status: number, body: unknown) => void, response: ServerResponse): void {
  if (path === '/version') {
    return reply(200, { ...deps.version, gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2024-11-19T13:39:41Z', goVersion: 'go1.23.3', compiler: 'gc', platform: 'linux/amd64' });
  }
  response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, private', 'X-Content-Type-Options': 'nosniff' });
  response.end('ok');
}

function nonResource(deps: ServerDeps, url: URL, request: IncomingMessage, reply: (status: number, body: unknown, headers?: Record<string, string>) => void): void {
  const registry = deps.api.registry;
  const path = url.pathname.replace(/\/$/, '') || '/';
  const aggregated = aggregatedVersion(request.headers.accept);
  if (path === '/api' || path === '/apis') {
    if (aggregated) return reply(200, aggregatedDiscovery(registry, path === '/api', aggregated), { 'Content-Type': aggregated === 'v2' ? AGGREGATED_V2 : AGGREGATED_V2BETA1 });
    return reply(200, path === '/api' ? apiVersions() : apiGroupList(registry));
  }
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts.length === 2) return replyOr404(reply, apiResourceList(registry, '', parts[1]!));
  if (parts[0] === 'apis' && parts.length === 2) {
    const versions = registry.groups().get(parts[1]!);
    return replyOr404(reply, versions ? apiGroup(parts[1]!, versions) : undefined);
  }
  if (parts[0] === 'apis' && parts.length === 3) return replyOr404(reply, apiResourceList(registry, parts[1]!, parts[2]!));
  if (path === '/openapi/v3') return reply(200, deps.openapi.index());
  if (parts[0] === 'openapi' && parts[1] === 'v3') {
    const document = deps.openapi.documentFor(parts.slice(2).join('/'));
    const immutable: Record<string, string> = url.searchParams.has('hash') ? { 'Cache-Control': 'public, immutable', Expires: new Date(Date.now() + 365 * 864e5).toUTCString() } : {};
    return replyOr404(reply, document, immutable);
  }
  throw new PlainNotFound();
}

function replyOr404(reply: (status: number, body: unknown, headers?: Record<string, string>) => void, body: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) throw notFoundPath();
  reply(200, body, headers);
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (error instanceof PlainNotFound) {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache, private' });
    response.end('404 page not found\n');
    return;
  }
  const status = error instanceof StatusError ? error : asStatus(error);
  sendJson(response, status.code, status.body, status.headers);
}

/** Anything that is not a Status becomes a 500 without a reason, as in kube-apiserver. */
function asStatus(error: unknown): StatusError {
  if (error instanceof PatchError) {
    const status = new StatusError(error.code, error.reason, error.message);
    if (!error.reason) delete status.body.reason;
    return status;
  }
  const message = error instanceof Error ? error.message : String(error);
  const status = new StatusError(500, '', message);
  delete status.body.reason;
  return status;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
