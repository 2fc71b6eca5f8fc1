// curl 8 (Alpine's, in agnhost) for the flags probes use: -s/-S/-f,
// --connect-timeout, -m/--max-time, -o /dev/null, -w with %{http_code};
// http:// URLs, an IPv6 address in brackets (`http://[fd00:10:97::5]:9376/`,
// kept apart from curl's URL globbing as curl's peek_ipv6 does; messages name
// the address without its brackets, as conn->host.name holds it). Its failures as curl 8 words them (lib/connect.c:
// "Failed to connect to HOST port P after N ms: <curl_easy_strerror>"):
// exit 6 (host not resolved), 7 (refused), 28 (timed out), 22 (-f and an
// HTTP error). Names resolve through musl with the pod's resolv.conf.
import { reach } from '../dataplane/reach.ts';
import { ipFamily } from '../ipnet.ts';
import { httpGet } from './agnhost.ts';
import { isIPv4, KERNEL_CONNECT_TIMEOUT_MS, muslLookup, sleep } from './net.ts';
import { NotSimulated, type Program, type ProgramResult } from './program.ts';

interface CurlOptions {
  silent: boolean;
  showError: boolean;
  fail: boolean;
  connectTimeoutMs?: number;
  maxTimeMs?: number;
  output?: string;
  writeOut?: string;
  url: string;
}

function seconds(flag: string, text: string | undefined): number {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) throw new NotSimulated(`curl ${flag} ${text ?? ''}: curl's "expected a proper numerical parameter" is not simulated`);
  return Math.round(Number(text) * 1000);
}

function parse(args: string[]): CurlOptions {
  const options: Partial<CurlOptions> & { silent: boolean; showError: boolean; fail: boolean } = { silent: false, showError: false, fail: false };
  const urls: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => args[++i];
    if (arg === '--silent') options.silent = true;
    else if (arg === '--show-error') options.showError = true;
    else if (arg === '--fail') options.fail = true;
    else if (arg === '--connect-timeout') options.connectTimeoutMs = seconds(arg, value());
    else if (arg === '--max-time') options.maxTimeMs = seconds(arg, value());
    else if (arg === '--output') options.output = value();
    else if (arg === '--write-out') options.writeOut = value();
    else if (/^-[a-zA-Z]+$/.test(arg)) {
      // Short flags combine (-sSf); one that takes a value takes the next word.
      for (const flag of arg.slice(1)) {
        if (flag === 's') options.silent = true;
        else if (flag === 'S') options.showError = true;
        else if (flag === 'f') options.fail = true;
        else if (flag === 'm') options.maxTimeMs = seconds('-m', value());
        else if (flag === 'o') options.output = value();
        else if (flag === 'w') options.writeOut = value();
        else throw new NotSimulated(`curl -${flag} is not simulated`);
      }
    } else if (arg.startsWith('-')) throw new NotSimulated(`curl ${arg} is not simulated`);
    else urls.push(arg);
  }
  if (urls.length !== 1) throw new NotSimulated(`curl with ${urls.length} URLs is not simulated`);
  if (!options.silent) throw new NotSimulated('curl without -s (its progress meter on stderr) is not simulated');
  if (options.output !== undefined && options.output !== '/dev/null') throw new NotSimulated(`curl -o ${options.output}: files are not simulated`);
  return { ...options, url: urls[0]! };
}

/** curl's -w: %{http_code} and backslash escapes; other variables are not modelled. */
function writeOut(format: string, status: number): string {
  return format.replace(/%\{([a-z_]+)\}|\\([nrt\\])/g, (_m, variable: string | undefined, escape: string | undefined) => {
    if (escape) return { n: '\n', r: '\r', t: '\t', '\\': '\\' }[escape]!;
    if (variable === 'http_code' || variable === 'response_code') return String(status).padStart(3, '0');
    throw new NotSimulated(`curl -w %{${variable}} is not simulated`);
  });
}

export const curl: Program = async ({ runtime: rt, pod, argv, signal }) => {
  const options = parse(argv.slice(1));
  const match = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[^/:?#[\]]+)(?::(\d+))?([/?][^#]*)?$/.exec(options.url);
  if (!match || match[1] === 'https') throw new NotSimulated(`curl ${options.url}: only http:// URLs are simulated`);
  const [, , hostText = '', portText, path = '/'] = match;
  const literal6 = hostText.startsWith('[');
  const host = literal6 ? hostText.slice(1, -1) : hostText;
  if (literal6 && ipFamily(host) !== 6) throw new NotSimulated(`curl ${options.url}: its "(3) URL rejected: Bad IPv6 address" is not simulated`);
  const port = portText ? Number(portText) : 80;
  const failure = (code: number, message: string, status = 0): ProgramResult => ({
    stdout: options.writeOut ? writeOut(options.writeOut, status) : '',
    stderr: options.showError ? `curl: (${code}) ${message}\n` : '',
    exitCode: code,
  });
  // The connect phase is bounded by the smaller of --connect-timeout and --max-time.
  const limits = [options.connectTimeoutMs, options.maxTimeMs].filter((t): t is number => t !== undefined && t > 0);
  const connectLimit = limits.length ? Math.min(...limits) : undefined;
  let elapsed = 0;
  let address = host;
  if (!isIPv4(host) && !literal6) {
    const lookup = muslLookup(rt, pod, host);
    if (connectLimit !== undefined && lookup.elapsedMs >= connectLimit) {
      await sleep(rt, connectLimit, signal);
      return failure(28, `Resolving timed out after ${connectLimit} milliseconds`);
    }
    await sleep(rt, lookup.elapsedMs, signal);
    elapsed = lookup.elapsedMs;
    if ('error' in lookup) return failure(6, `Could not resolve host: ${host}`);
    address = lookup.addresses.find(isIPv4) ?? '';
    if (!address) throw new NotSimulated('IPv6 destinations are not simulated');
  }
  const result = reach(rt, { pod }, address, port, 'TCP');
  if (result.outcome === 'refused') return failure(7, `Failed to connect to ${host} port ${port} after ${elapsed} ms: Couldn't connect to server`);
  if (result.outcome !== 'delivered') {
    if (connectLimit !== undefined && connectLimit - elapsed < KERNEL_CONNECT_TIMEOUT_MS) {
      await sleep(rt, connectLimit - elapsed, signal);
      return failure(28, `Failed to connect to ${host} port ${port} after ${connectLimit} ms: Timeout was reached`);
    }
    // The kernel gives up first (ETIMEDOUT): curl reports "couldn't connect" and exits 28.
    await sleep(rt, KERNEL_CONNECT_TIMEOUT_MS, signal);
    return failure(28, `Failed to connect to ${host} port ${port} after ${elapsed + KERNEL_CONNECT_TIMEOUT_MS} ms: Couldn't connect to server`);
  }
  const response = await httpGet(rt, result, path, signal);
  if (options.fail && response.status >= 400) return failure(22, `The requested URL returned error: ${response.status}`, response.status);
  const body = options.output === '/dev/null' ? '' : response.body;
  return { stdout: body + (options.writeOut ? writeOut(options.writeOut, response.status) : ''), exitCode: 0 };
};
