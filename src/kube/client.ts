import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { Logger } from '../cli/logger.ts';
import { PLUGIN_NAME, PLUGIN_VERSION } from '../build-info.ts';
import { ApiError, ConnectionError, connectionError, type KubeStatus } from './errors.ts';

/** Query parameters; a list is sent as the parameter repeated (pods/exec's `command`). */
export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface RequestOptions {
  method?: string;
  query?: Query;
  /** An object is sent as JSON; a string as is, with `contentType`. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** Overrides --request-timeout for this request (0: none). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RawResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** What a WebSocket client needs to open `url` as this client would request it. */
export interface UpgradeRequest {
  /** The https:// (or http://) URL; WebSocket clients take it for wss:// (ws://). */
  url: string;
  headers: http.OutgoingHttpHeaders;
  /** TLS (CA, client certificate, server name, verification), basic auth and a proxy's agent, from the kubeconfig. */
  connection: Pick<https.RequestOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized' | 'auth' | 'agent'>;
}

export interface ClientSettings {
  kubeConfig: KubeConfig;
  server: string;
  contextName: string;
  userName: string;
  impersonateGroups: string[];
  logger: Logger;
  timeoutMs: number;
  /** The cluster has a proxy (proxy-url or HTTPS_PROXY): use client-node's proxy agent. */
  proxied: boolean;
}

const USER_AGENT = `${PLUGIN_NAME}/${PLUGIN_VERSION} (${process.platform}/${process.arch})`;

/**
 * The one HTTP path to the API server: credentials from the kubeconfig
 * (tokens, client certificates, exec plugins via client-node), kept-alive
 * connections, request logging at -v 6+, and Status objects turned into errors.
 */
export class KubeClient {
  readonly server: string;
  readonly contextName: string;
  readonly userName: string;
  private readonly settings: ClientSettings;
  private agent: http.Agent | undefined;

  constructor(settings: ClientSettings) {
    this.settings = settings;
    this.server = settings.server;
    this.contextName = settings.contextName;
    this.userName = settings.userName;
  }

  /** Sends a request and returns the decoded JSON body; a non-2xx answer throws ApiError. */
  async json<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(path, options);
    if (response.statusCode < 200 || response.statusCode > 299) throw apiError(response);
    return JSON.parse(response.body.toString('utf8')) as T;
  }

  /** Like json(), but a 404 is `undefined` instead of an error. */
  async optional<T>(path: string, options: RequestOptions = {}): Promise<T | undefined> {
    const response = await this.request(path, options);
    if (response.statusCode === 404) return undefined;
    if (response.statusCode < 200 || response.statusCode > 299) throw apiError(response);
    return JSON.parse(response.body.toString('utf8')) as T;
  }

  /**
   * A streaming GET (watches): `onLine` gets each line of the body as it
   * arrives; resolves when the server ends the stream. A non-2xx answer
   * rejects with ApiError; no request timeout applies once headers arrived.
   */
  /** -v logging, for the layers above that report what they did with the server. */
  get logger(): Logger {
    return this.settings.logger;
  }

  async stream(path: string, options: RequestOptions, onLine: (line: string) => void): Promise<void> {
    const url = this.url(path, options.query);
    const { headers } = await this.prepare('GET', url, options);
    const transport = url.startsWith('https:') ? https : http;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const request = transport.request(url, { method: 'GET', headers, agent: this.agent, signal: options.signal }, (response) => {
        this.settings.logger.log(6, 'request.go', `GET ${url} ${response.statusCode} ${http.STATUS_CODES[response.statusCode ?? 0] ?? ''} in ${Math.round(performance.now() - started)} milliseconds`);
        clearTimeout(deadline);
        if ((response.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => reject(apiError({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) })));
          return;
        }
        // Lines are cut from each chunk by position; only an unfinished last line is carried to the next chunk.
        const decoder = new StringDecoder('utf8');
        let carried = '';
        response.on('data', (chunk: Buffer) => {
          const text = carried + decoder.write(chunk);
          let start = 0;
          try {
            for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
              const line = text.slice(start, nl);
              start = nl + 1;
              if (line.trim()) onLine(line);
            }
          } catch (error) {
            // What onLine throws (a watch's ERROR event, e.g. 410 Gone) ends this stream and goes to the caller.
            reject(error); // first: destroying the response rejects with a connection error of its own
            response.destroy();
          }
          carried = text.slice(start);
        });
        response.on('end', resolve);
        response.on('error', (error) => reject(connectionError(error, this.server)));
        response.on('aborted', () => reject(new ConnectionError('the watch connection was closed by the server', 'ECONNRESET')));
      });
      const timeoutMs = options.timeoutMs ?? this.settings.timeoutMs;
      // Until the headers arrive (a deadline, as in send()); a watch then stays open as long as the server keeps it.
      const deadline = timeoutMs > 0 ? setTimeout(() => request.destroy(new ConnectionError(`the server ${this.server} did not answer within ${timeoutMs / 1000}s (--request-timeout)`, 'ETIMEDOUT')), timeoutMs) : undefined;
      request.once('close', () => clearTimeout(deadline));
      request.on('error', (error: NodeJS.ErrnoException) => reject(error instanceof ConnectionError || error.name === 'AbortError' ? error : connectionError(error, this.server)));
      request.end();
    });
  }

  async request(path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const url = this.url(path, options.query);
    const method = options.method ?? 'GET';
    const { headers, body } = await this.prepare(method, url, options);
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let outcome: RawResponse | NodeJS.ErrnoException;
      try {
        outcome = await this.send(url, method, headers, body, options);
        this.logResponse(method, url, outcome, started);
      } catch (error) {
        this.settings.logger.log(6, 'request.go', `${method} ${url} failed in ${Math.round(performance.now() - started)} milliseconds: ${String(error)}`);
        outcome = error as NodeJS.ErrnoException;
      }
      const wait = retryDelay(outcome, attempt);
      if (wait === undefined || options.signal?.aborted) {
        if (outcome instanceof Error) throw outcome;
        return outcome;
      }
      this.settings.logger.log(2, 'request.go', `${method} ${url}: ${describeOutcome(outcome)}; retrying in ${wait} ms (attempt ${attempt + 1} of ${MAX_ATTEMPTS})`);
      await sleep(wait, options.signal);
    }
  }

  url(path: string, query?: Query): string {
    const url = new URL(this.server);
    url.pathname = url.pathname.replace(/\/$/, '') + path;
    for (const [key, value] of Object.entries(query ?? {})) {
      if (Array.isArray(value)) for (const item of value) url.searchParams.append(key, item);
      else if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /**
   * A WebSocket upgrade (pods/exec) prepared like any request of this client:
   * the same credentials (tokens, exec plugins, client certificates,
   * impersonation), TLS settings and proxy, logged at -v 7+ with credentials
   * masked. The caller opens it and reports the answer with logUpgrade().
   */
  async upgradeRequest(path: string, query: Query): Promise<UpgradeRequest> {
    const url = this.url(path, query);
    const tls = await this.credentials(url);
    const headers = this.identified({ ...(tls.headers as http.OutgoingHttpHeaders) });
    this.logRequest('GET', url, headers, undefined);
    const { ca, cert, key, servername, rejectUnauthorized, auth } = tls;
    // Through this client's agent: an idle kept-alive connection, else a new one that resumes a cached TLS session
    // with the agent's one TLS context (a full handshake and a context per exec cost ~1.5 ms of CPU each).
    return {
      url,
      headers,
      connection: { ca, cert, key, servername, auth, ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }), agent: this.settings.proxied ? tls.agent : this.agent },
    };
  }

  /** Logs how an upgrade request was answered, as request() logs a response (-v 6). */
  logUpgrade(url: string, outcome: number | Error, started: number): void {
    const ms = Math.round(performance.now() - started);
    const answer = typeof outcome === 'number' ? `${outcome} ${http.STATUS_CODES[outcome] ?? ''}` : 'failed';
    this.settings.logger.log(6, 'request.go', `GET ${url} ${answer} in ${ms} milliseconds${outcome instanceof Error ? `: ${outcome.message}` : ''}`);
  }

  /** The kubeconfig's TLS settings and credential headers (exec plugins run here). */
  private async credentials(url: string): Promise<https.RequestOptions> {
    const tls: https.RequestOptions = { headers: {} };
    await this.settings.kubeConfig.applyToHTTPSOptions(tls);
    this.agent ??= this.settings.proxied ? (tls.agent as http.Agent) : makeAgent(url, tls);
    return tls;
  }

  /** Adds who is asking: the User-Agent and --as-group impersonation. */
  private identified(headers: http.OutgoingHttpHeaders): http.OutgoingHttpHeaders {
    headers['User-Agent'] = USER_AGENT;
    if (this.settings.impersonateGroups.length > 0) headers['Impersonate-Group'] = this.settings.impersonateGroups;
    return headers;
  }

  private async prepare(method: string, url: string, options: RequestOptions) {
    const tls = await this.credentials(url);
    const headers = this.identified({ ...(tls.headers as http.OutgoingHttpHeaders), Accept: options.accept ?? 'application/json' });
    let body: Buffer | undefined;
    if (options.body !== undefined) {
      body = Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = body.length;
    }
    this.logRequest(method, url, headers, body);
    return { headers, body };
  }

  private send(url: string, method: string, headers: http.OutgoingHttpHeaders, body: Buffer | undefined, options: RequestOptions): Promise<RawResponse> {
    const timeoutMs = options.timeoutMs ?? this.settings.timeoutMs;
    const transport = url.startsWith('https:') ? https : http;
    return new Promise<RawResponse>((resolve, reject) => {
      const request = transport.request(url, { method, headers, agent: this.agent, signal: options.signal }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', (error) => reject(error instanceof ConnectionError ? error : connectionError(error, this.server)));
      });
      if (timeoutMs > 0) {
        // A deadline for the whole request, as kubectl's --request-timeout: a socket idle timeout fires late
        // (Node re-arms it after any activity, ~2× the time against a silent server) and never on a slow trickle.
        const deadline = setTimeout(() => {
          request.destroy(new ConnectionError(`the server ${this.server} did not answer within ${timeoutMs / 1000}s (--request-timeout)`, 'ETIMEDOUT'));
        }, timeoutMs);
        request.once('close', () => clearTimeout(deadline));
      }
      request.on('error', (error: NodeJS.ErrnoException) => reject(error instanceof ConnectionError || error.name === 'AbortError' ? error : connectionError(error, this.server)));
      request.end(body);
    });
  }

  private logRequest(method: string, url: string, headers: http.OutgoingHttpHeaders, body: Buffer | undefined): void {
    const logger = this.settings.logger;
    if (logger.enabled(9)) {
      const flags = Object.entries(headers).map(([k, v]) => `-H "${k}: ${maskHeader(k, v)}"`).join(' ');
      logger.log(9, 'request.go', `curl -v -X${method} ${flags} '${url}'`);
    } else if (logger.enabled(7)) {
      logger.log(7, 'request.go', `${method} ${url}`);
      logger.log(7, 'request.go', 'Request Headers:');
      for (const [key, value] of Object.entries(headers)) logger.log(7, 'request.go', `    ${key}: ${maskHeader(key, value)}`);
    }
    if (body && logger.enabled(8)) logger.log(8, 'request.go', `Request Body: ${loggedBody(url, body)}`);
  }

  private logResponse(method: string, url: string, response: RawResponse, started: number): void {
    const logger = this.settings.logger;
    const ms = Math.round(performance.now() - started);
    logger.log(6, 'request.go', `${method} ${url} ${response.statusCode} ${http.STATUS_CODES[response.statusCode] ?? ''} in ${ms} milliseconds`);
    if (logger.enabled(8)) logger.log(8, 'request.go', `Response Body: ${loggedBody(url, response.body)}`);
  }
}

/**
 * One kept-alive agent per client (client-node's own agents close every connection), with one TLS context for all
 * its connections: without it each new connection builds its own from the CA and client certificate.
 */
function makeAgent(url: string, tls: https.RequestOptions): http.Agent {
  if (url.startsWith('http:')) return new http.Agent({ keepAlive: true });
  return new https.Agent({
    keepAlive: true,
    secureContext: createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key }),
    servername: tls.servername,
    ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  });
}

/** A wait between attempts that Ctrl-C or --timeout cuts short. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

const MAX_ATTEMPTS = 6;
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/**
 * How long to wait before trying again, or undefined to give up: transient
 * failures only (429, 5xx, a connection reset), capped exponential backoff
 * with jitter, and the server's Retry-After when it gives one.
 */
export function retryDelay(outcome: RawResponse | NodeJS.ErrnoException, attempt: number, random = Math.random): number | undefined {
  if (attempt >= MAX_ATTEMPTS) return undefined;
  if (outcome instanceof Error) {
    const code = (outcome as ConnectionError).code ?? '';
    return RETRYABLE_CODES.has(code) ? backoff(attempt, random) : undefined;
  }
  if (!RETRYABLE_STATUS.has(outcome.statusCode)) return undefined;
  const retryAfter = Number(outcome.headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.min(10_000, retryAfter * 1000);
  return backoff(attempt, random);
}

function backoff(attempt: number, random: () => number): number {
  // 250, 500, 1000, 2000, then the 4 s cap; each wait is a random point in the upper half (jitter).
  const ceiling = Math.min(4_000, 250 * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function describeOutcome(outcome: RawResponse | NodeJS.ErrnoException): string {
  return outcome instanceof Error ? (outcome.code ?? outcome.message) : `${outcome.statusCode} ${http.STATUS_CODES[outcome.statusCode] ?? ''}`.trim();
}

export function apiError(response: RawResponse): ApiError {
  let status: KubeStatus = {};
  try {
    status = JSON.parse(response.body.toString('utf8')) as KubeStatus;
  } catch {
    status = { message: response.body.toString('utf8').trim().slice(0, 200) };
  }
  const retryAfter = Number(response.headers['retry-after']);
  return new ApiError(response.statusCode, status, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
}

function maskHeader(name: string, value: http.OutgoingHttpHeader | undefined): string {
  if (name.toLowerCase() === 'authorization') return `${String(value).split(' ')[0]} <masked>`;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * A body as -v 8 logs it: a Secret's, a list of Secrets' or anything sent to or read from a secrets path is only
 * its size (kubectl prints Secret data there; the plugin never prints a secret); any other is cut at 10 KiB.
 */
function loggedBody(url: string, body: Buffer): string {
  const text = body.toString('utf8');
  if (/\/api\/v1\/(?:namespaces\/[^/]+\/)?secrets(?:\/|$)/.test(new URL(url).pathname) || /"kind"\s*:\s*"Secret(?:List)?"/.test(text)) return `<masked: ${body.length} bytes of Secret data>`;
  return truncate(text);
}

function truncate(text: string, limit = 10_240): string {
  return text.length > limit ? `${text.slice(0, limit)} [truncated ${text.length - limit} chars]` : text;
}
