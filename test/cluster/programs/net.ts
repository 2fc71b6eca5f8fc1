// What the network programs share: waiting in cluster time (a probe that
// times out takes its timeout on the cluster's clock, and ends early if the
// exec does), the ephemeral ports error texts quote, Go's durations, and the
// stub resolvers of Go (agnhost) and musl (Alpine's curl) over the DNS model.
import type { Runtime } from '../controllers/runtime.ts';
import { exchange, resolvConf, searchList, type DnsMessage, type QType } from '../dataplane/dns.ts';
import { endpointOf } from '../dataplane/reach.ts';
import type { KubeObject } from '../types.ts';
import { NotSimulated } from './program.ts';

/** Waits `ms` of cluster time; resolves early when the exec ends. */
export function sleep(rt: Runtime, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = rt.clock.after(ms, () => {
      signal.removeEventListener('abort', stop);
      resolve();
    });
    const stop = () => {
      timer.cancel();
      resolve();
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

/** Waits until the exec ends (a read without a deadline that nothing answers). */
export function forever(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A local port from Linux's default ip_local_port_range (32768–60999), as error texts quote them. */
export function ephemeralPort(): number {
  return 32768 + Math.floor(Math.random() * (60999 - 32768 + 1));
}

/** Linux gives up a TCP connect after tcp_syn_retries (6) retransmissions: 1+2+…+64 s. */
export const KERNEL_CONNECT_TIMEOUT_MS = 127_000;

/** Go's time.ParseDuration for the forms a probe uses (`3s`, `500ms`, `1m30s`, `1.5s`). */
export function goDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest) {
    const match = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return text ? total : undefined;
}

export function isIPv4(text: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(text) && text.split('.').every((o) => Number(o) <= 255);
}

/** The address a pod's probes (to an address of `family`) leave from, as a peer sees it before any NAT. */
export function sourceAddress(rt: Runtime, pod: KubeObject, family: 4 | 6 = 4): string {
  return endpointOf(rt, { pod }, family).ip;
}

/** net.JoinHostPort: an IPv6 address in brackets. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Names the kubelet's /etc/hosts answers before DNS (localhost, the pod's own hostname): not modelled. */
function fromHostsFile(pod: KubeObject, host: string): void {
  const own = (pod.spec as { hostname?: string }).hostname ?? pod.metadata.name;
  if (['localhost', 'ip6-localhost', 'ip6-loopback', own].includes(host.toLowerCase())) throw new NotSimulated(`resolving ${host} from /etc/hosts is not simulated`);
}

export type Lookup = { addresses: string[]; elapsedMs: number } | { error: string; elapsedMs: number };

/** How one query ends for a stub resolver: an answer, or the socket's error after `elapsed`. */
type Attempt = { message: DnsMessage } | { timeout: true } | { refused: true };

function attempt(rt: Runtime, pod: KubeObject, server: string, name: string, qtype: QType): Attempt {
  const result = exchange(rt, { pod }, server, name, qtype);
  if (result.outcome === 'answer') return { message: result.message };
  return result.outcome === 'timeout' ? { timeout: true } : { refused: true };
}

/**
 * Go's pure resolver (agnhost is built without cgo): for each name of the
 * search list, A and AAAA in parallel, each tried `attempts` (2) times per
 * server with resolv.conf's 5 s timeout, a connected UDP socket (so an ICMP
 * port unreachable ends an attempt at once); the first name with addresses
 * wins; otherwise the error of the name as given is preferred, reported with
 * the name as given (net/dnsclient_unix.go goLookupIPCNAME).
 */
export function goLookup(rt: Runtime, pod: KubeObject, host: string): Lookup {
  fromHostsFile(pod, host);
  const conf = resolvConf(rt, pod);
  const server = conf.nameservers[0];
  if (!server) throw new NotSimulated('a resolv.conf without nameservers is not simulated');
  const source = sourceAddress(rt, pod);
  let elapsedMs = 0;
  let lastError: string | undefined;
  for (const fqdn of searchList(conf, host)) {
    const addresses: string[] = [];
    let slowest = 0;
    for (const qtype of ['A', 'AAAA'] as const) {
      let spent = 0;
      let error: string | undefined;
      for (let i = 0; i < 2; i++) {
        const result = attempt(rt, pod, server, fqdn, qtype);
        if ('message' in result) {
          const found = result.message.answer.filter((r) => r.type === qtype).map((r) => r.data);
          error = found.length ? undefined : 'no such host';
          addresses.push(...found);
          break;
        }
        const port = ephemeralPort();
        if ('timeout' in result) {
          spent += 5000;
          error = `read udp ${source}:${port}->${server}:53: i/o timeout`;
        } else error = `read udp ${source}:${port}->${server}:53: read: connection refused`;
      }
      slowest = Math.max(slowest, spent);
      if (error && (lastError === undefined || fqdn === `${host}.`)) lastError = error;
    }
    elapsedMs += slowest;
    if (addresses.length) return { addresses, elapsedMs };
  }
  return { error: `lookup ${host} on ${server}:53: ${lastError ?? 'no such host'}`, elapsedMs };
}

/**
 * musl's getaddrinfo (Alpine): the search list tried name by name, A and AAAA
 * in parallel on an unconnected UDP socket (an ICMP error goes unseen: the
 * query waits out resolv.conf's 5 s); NXDOMAIN or no data moves on to the
 * next name, any other failure ends the search (EAI_AGAIN).
 */
export function muslLookup(rt: Runtime, pod: KubeObject, host: string): Lookup {
  fromHostsFile(pod, host);
  const conf = resolvConf(rt, pod);
  const server = conf.nameservers[0];
  if (!server) throw new NotSimulated('a resolv.conf without nameservers is not simulated');
  let elapsedMs = 0;
  for (const fqdn of searchList(conf, host)) {
    const addresses: string[] = [];
    for (const qtype of ['A', 'AAAA'] as const) {
      const result = attempt(rt, pod, server, fqdn, qtype);
      if (!('message' in result)) return { error: 'temporary failure', elapsedMs: elapsedMs + 5000 };
      addresses.push(...result.message.answer.filter((r) => r.type === qtype).map((r) => r.data));
    }
    if (addresses.length) return { addresses, elapsedMs };
  }
  return { error: 'not found', elapsedMs };
}
