// agnhost (kubernetes test/images/agnhost): `/agnhost connect` run by exec,
// and what its servers (serve-hostname, netexec) answer the clients that
// reach them. Nothing opens a socket: reach.ts decides each connection.
// Destinations are split as Go's net.SplitHostPort does (`[fd00::5]:9376`
// for IPv6); its servers listen on every address of both families.
import type { Runtime } from '../controllers/runtime.ts';
import { reach, type Reach } from '../dataplane/reach.ts';
import type { KubeObject } from '../types.ts';
import { podHostname } from './basic.ts';
import { ipFamily } from '../ipnet.ts';
import { ephemeralPort, forever, goDuration, goLookup, isIPv4, joinHostPort, KERNEL_CONNECT_TIMEOUT_MS, sleep, sourceAddress } from './net.ts';
import { imageContents } from './index.ts';
import { NotSimulated, resolveProgram, type Program, type ProgramResult } from './program.ts';

/** `/agnhost SUBCOMMAND …`: the subcommands a probe runs; the servers are the container's own process, not exec'd. */
export const agnhost: Program = async (context) => {
  const [, subcommand, ...args] = context.argv;
  if (subcommand === 'connect') return connect(context.runtime, context.pod, args, context.signal);
  throw new NotSimulated(`agnhost ${subcommand ?? ''} run by exec is not simulated`);
};

interface ConnectOptions {
  dest: string;
  timeoutMs: number;
  protocol: string;
  udpData: string;
}

/** cobra's parse of `connect [host:port] --timeout=… --protocol=… --udp-data=…` (flags anywhere). */
function connectOptions(args: string[]): ConnectOptions {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const match = /^--([^=]+)(?:=(.*))?$/.exec(args[i]!);
    if (!match) {
      positional.push(args[i]!);
      continue;
    }
    const [, name = '', value] = match;
    if (!['timeout', 'protocol', 'udp-data', 'sctp-data'].includes(name)) throw new NotSimulated(`agnhost connect --${name}: cobra's unknown-flag error is not simulated`);
    flags.set(name, value ?? args[++i] ?? '');
  }
  if (positional.length !== 1) throw new NotSimulated(`agnhost connect with ${positional.length} arguments: cobra's usage error is not simulated`);
  const timeout = flags.has('timeout') ? goDuration(flags.get('timeout')!) : 0;
  if (timeout === undefined) throw new NotSimulated(`agnhost connect --timeout=${flags.get('timeout')}: cobra's invalid-argument error is not simulated`);
  return { dest: positional[0]!, timeoutMs: timeout, protocol: flags.get('protocol') ?? 'tcp', udpData: flags.get('udp-data') ?? 'hostname' };
}

/** connect.go: exit 0 silently when the connection opens; else 1 and a line starting TIMEOUT, REFUSED, DNS:, OTHER: or UNKNOWN:. */
async function connect(rt: Runtime, pod: KubeObject, args: string[], signal: AbortSignal): Promise<ProgramResult> {
  const options = connectOptions(args);
  const fail = (stderr: string): ProgramResult => ({ stderr, exitCode: 1 });
  if (options.protocol === 'sctp') throw new NotSimulated('agnhost connect --protocol=sctp is not simulated');
  if (options.protocol !== '' && options.protocol !== 'tcp' && options.protocol !== 'udp') return fail(`Unsupported protocol\n${options.protocol}`);
  const udp = options.protocol === 'udp';
  const split = splitHostPort(options.dest);
  if ('error' in split) {
    // connectUDP skips SplitHostPort: ResolveUDPAddr reports it, as a DNS error.
    return fail(udp ? `DNS: ${split.error}\n` : `UNKNOWN: ${split.error}\n`);
  }
  const { host, port } = split;
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new NotSimulated(`agnhost connect to port "${port}": Go's service-name lookup is not simulated`);
  let address = host;
  if (!ipFamily(host)) {
    if (host.includes(':') || host.includes('%')) throw new NotSimulated(`agnhost connect to "${host}" (not an IP address, not a name) is not simulated`);
    const lookup = goLookup(rt, pod, host);
    await sleep(rt, lookup.elapsedMs, signal);
    if ('error' in lookup) return fail(`DNS: ${lookup.error}\n`);
    // Go's dialer tries the first address's family first (IPv4 here, RFC 6724 between ULAs and IPv4); the fallback is not modelled.
    address = lookup.addresses.find(isIPv4) ?? lookup.addresses[0]!;
  }
  const result = reach(rt, { pod }, address, Number(port), udp ? 'UDP' : 'TCP');
  if (!udp) {
    if (result.outcome === 'delivered') return { exitCode: 0 };
    if (result.outcome === 'refused') return fail('REFUSED\n');
    await sleep(rt, options.timeoutMs > 0 ? options.timeoutMs : KERNEL_CONNECT_TIMEOUT_MS, signal);
    return fail('TIMEOUT\n');
  }
  const local = joinHostPort(sourceAddress(rt, pod, address.includes(':') ? 6 : 4), ephemeralPort());
  const remote = joinHostPort(address, port);
  if (result.outcome === 'refused') return fail(`REFUSED: read udp ${local}->${remote}: read: connection refused\n`);
  const reply = result.outcome === 'delivered' ? udpReply(result, options.udpData) : undefined;
  if (reply !== undefined) return { exitCode: 0 };
  // Nothing comes back: the read waits for its deadline, or for ever without one.
  if (options.timeoutMs === 0) {
    await forever(signal);
    return fail('');
  }
  await sleep(rt, options.timeoutMs, signal);
  return fail(`TIMEOUT: read udp ${local}->${remote}: i/o timeout\n`);
}

/** Go's net.SplitHostPort, its errors worded as *AddrError prints them. */
export function splitHostPort(dest: string): { host: string; port: string } | { error: string } {
  const error = (why: string) => ({ error: `address ${dest}: ${why}` });
  const i = dest.lastIndexOf(':');
  if (i < 0) return error('missing port in address');
  let host: string;
  let [j, k] = [0, 0];
  if (dest.startsWith('[')) {
    const end = dest.indexOf(']');
    if (end < 0) return error("missing ']' in address");
    if (end + 1 === dest.length) return error('missing port in address');
    if (end + 1 !== i) return error(dest[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    host = dest.slice(1, end);
    [j, k] = [1, end + 1];
  } else {
    host = dest.slice(0, i);
    if (host.includes(':')) return error('too many colons in address');
  }
  if (dest.slice(j).includes('[')) return error("unexpected '[' in address");
  if (dest.slice(k).includes(']')) return error("unexpected ']' in address");
  return { host, port: dest.slice(i + 1) };
}

/** What a UDP server that received `payload` sends back, or undefined when it sends nothing. */
function udpReply(to: Extract<Reach, { outcome: 'delivered' }>, payload: string): string | undefined {
  const server = to.to.pod;
  switch (to.listener.server) {
    case 'serve-hostname-raw':
      return podHostname(server!);
    case 'netexec-udp': {
      // netexec answers a few commands and logs the rest.
      const text = `${payload}\n`.trim();
      if (text === 'hostname') return podHostname(server!);
      if (text === 'clientip') return `${to.from.ip}:${ephemeralPort()}`;
      if (text.startsWith('echo ')) return text.slice('echo '.length);
      return undefined;
    }
    case 'dns':
    case 'dns-upstream':
      // A payload that is no DNS message: a DNS server answers nothing.
      return undefined;
  }
  throw new NotSimulated(`what ${to.listener.server} on ${to.to.ip}:${to.port}/UDP answers is not simulated`);
}

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * What agnhost's HTTP servers answer a GET of `path`: serve-hostname the
 * hostname on every path; netexec its handlers (/shell runs the command in
 * the server's own shell — why a connectivity test must never deploy netexec).
 */
export async function httpGet(rt: Runtime, to: Extract<Reach, { outcome: 'delivered' }>, path: string, signal: AbortSignal): Promise<HttpResponse> {
  const server = to.to.pod;
  if (to.listener.server === 'serve-hostname-http') return { status: 200, body: podHostname(server!) };
  if (to.listener.server !== 'netexec-http') throw new NotSimulated(`what ${to.listener.server} on ${to.to.ip}:${to.port} answers over HTTP is not simulated`);
  const url = new URL(path, 'http://netexec');
  const param = (name: string) => url.searchParams.get(name) ?? '';
  switch (url.pathname) {
    case '/':
      throw new NotSimulated('netexec / answers the server\'s clock (`NOW: …` in Go\'s time format): not simulated');
    case '/hostname':
    case '/hostName':
      return { status: 200, body: podHostname(server!) };
    case '/clientip':
      return { status: 200, body: `${to.from.ip}:${ephemeralPort()}` };
    case '/healthz':
      return { status: 200, body: '' };
    case '/echo': {
      const code = param('code');
      if (code !== '' && !/^-?\d+$/.test(code)) return { status: 200, body: `argument 'code' must be an integer or empty, got "${code}"\n` };
      return { status: code === '' ? 200 : Number(code), body: param('msg') };
    }
    case '/shell':
      return { status: 200, body: await shell(rt, server!, param('shellCommand') || param('cmd'), signal) };
  }
  throw new NotSimulated(`netexec ${url.pathname} is not simulated`);
}

/** netexec's /shell: `/bin/sh -c CMD` in the server's container, its combined output and error as JSON. */
async function shell(rt: Runtime, server: KubeObject, command: string, signal: AbortSignal): Promise<string> {
  const container = (server.spec as { containers: { name: string; image: string }[] }).containers[0]!;
  const image = imageContents(container.image)!;
  const found = resolveProgram(image, '/bin/sh');
  if ('error' in found) throw new NotSimulated(`netexec /shell in an image without /bin/sh: ${found.error}`);
  const result = await found.program({ runtime: rt, pod: server, container, image, argv: ['/bin/sh', '-c', command], stdin: async () => Buffer.alloc(0), signal });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  // encoding/json: keys sorted, <, > and & escaped.
  const body: Record<string, string> = {};
  if (result.exitCode !== 0) body.error = `exit status ${result.exitCode}`;
  if (output) body.output = output;
  return JSON.stringify(body).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}
