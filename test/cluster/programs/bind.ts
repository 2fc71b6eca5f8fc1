// dig and nslookup from BIND 9.16's bind-tools, as Alpine 3.16 (agnhost
// 2.52's base since the April 2024 bump) installs them: output formats of
// bin/dig/dig.c, nslookup.c and dighost.c. dig uses no search list unless
// +search (so `dig kubernetes.default` asks for `kubernetes.default.` and
// gets NXDOMAIN); nslookup uses resolv.conf's search list and ndots. The
// patch release in the banner is an assumption.
import type { Runtime } from '../controllers/runtime.ts';
import { exchange, resolvConf, searchList, type DnsMessage, type QType, type ResourceRecord } from '../dataplane/dns.ts';
import type { KubeObject } from '../types.ts';
import { isIPv4, sleep } from './net.ts';
import { NotSimulated, type Program, type ProgramResult } from './program.ts';

const BIND_VERSION = '9.16.44';

/** dig's default +time (UDP_TIMEOUT, seconds) and +tries. */
const DIG_TIMEOUT_S = 5;
const DIG_TRIES = 3;

type Query = { message: DnsMessage; name: string } | { failed: 'timeout' };

/** Asks `server` for each name in turn until one exists (a `+search`-style walk); the last answer when none does. */
async function lookup(rt: Runtime, pod: KubeObject, server: string, names: string[], qtype: QType, tcp: boolean, waitMs: number, signal: AbortSignal): Promise<Query> {
  let last: Query | undefined;
  for (const name of names) {
    const result = exchange(rt, { pod }, server, name, qtype, tcp ? 'TCP' : 'UDP');
    if (result.outcome === 'refused' && tcp) throw new NotSimulated(`${server} refused the TCP connection: BIND's report of it is not simulated`);
    // Over UDP, 9.16's dighost sends with sendto on an unconnected socket: an ICMP port unreachable is a
    // soft error to ISC's socket code, so a refusal waits out the retries like silence.
    if (result.outcome !== 'answer') {
      await sleep(rt, waitMs, signal);
      return { failed: 'timeout' };
    }
    last = { message: result.message, name };
    if (result.message.rcode !== 'NXDOMAIN') return last;
  }
  return last!;
}

/** dns_master style: fields at tab stops of 8 — TTL at column 24, class 32, type 40, data 48; one space when the text runs past. */
function columns(fields: [string, number][]): string {
  let line = '';
  let column = 0;
  for (const [text, at] of fields) {
    if (column >= at && line) {
      line += ' ';
      column += 1;
    }
    while (column < at) {
      line += '\t';
      column = (Math.floor(column / 8) + 1) * 8;
    }
    line += text;
    column += text.length;
  }
  return line;
}

function record(r: ResourceRecord): string {
  return columns([[r.name, 0], [String(r.ttl), 24], ['IN', 32], [r.type, 40], [r.data, 48]]);
}

/** Wire size of a name, compressed against the names before it (a suffix already written costs a 2-byte pointer). */
function nameSize(name: string, written: string[]): number {
  const labels = name === '.' ? [] : name.slice(0, -1).split('.');
  for (let i = 0; i < labels.length; i++) {
    const suffix = `${labels.slice(i).join('.')}.`;
    if (written.some((w) => w === suffix || w.endsWith(`.${suffix}`))) return labels.slice(0, i).reduce((n, l) => n + l.length + 1, 0) + 2;
  }
  return labels.reduce((n, l) => n + l.length + 1, 0) + 1;
}

function messageSize(qname: string, message: DnsMessage): number {
  const written = [qname];
  let size = 12 + nameSize(qname, []) + 4;
  for (const r of [...message.answer, ...message.authority]) {
    size += nameSize(r.name, written) + 10;
    if (r.type === 'A') size += 4;
    else if (r.type === 'AAAA') size += 16;
    else {
      const [mname = '', rname = ''] = r.data.split(' ');
      size += nameSize(mname, written);
      written.push(mname);
      size += nameSize(rname, written) + 20;
    }
    written.push(r.name);
  }
  return size + 11;
}

/** dig's ;; WHEN: strftime("%a %b %d %H:%M:%S %Z %Y") in UTC. */
function when(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getUTCMonth()];
  return `${day} ${month} ${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC ${date.getUTCFullYear()}`;
}

export const dig: Program = async ({ runtime: rt, pod, argv, signal }) => {
  const args = argv.slice(1);
  let server: string | undefined;
  let name: string | undefined;
  let qtype: QType = 'A';
  let short = false;
  let search = false;
  let tcp = false;
  let time = DIG_TIMEOUT_S;
  let tries = DIG_TRIES;
  for (const arg of args) {
    if (arg.startsWith('@')) server = arg.slice(1);
    else if (arg === '+short') short = true;
    else if (arg === '+search') search = true;
    else if (arg === '+nosearch') search = false;
    else if (arg === '+tcp' || arg === '+vc') tcp = true;
    else if (arg === '+notcp' || arg === '+novc') tcp = false;
    else if (/^\+time=\d+$/.test(arg)) time = Math.max(1, Number(arg.slice(6)));
    else if (/^\+tries=\d+$/.test(arg)) tries = Math.max(1, Number(arg.slice(7)));
    else if (arg === 'A' || arg === 'AAAA' || arg === 'a' || arg === 'aaaa') qtype = arg.toUpperCase() as QType;
    else if (arg.startsWith('+') || arg.startsWith('-')) throw new NotSimulated(`dig ${arg} is not simulated`);
    else if (name === undefined) name = arg;
    else throw new NotSimulated(`dig with a second name or a type other than A/AAAA (${arg}) is not simulated`);
  }
  if (name === undefined) throw new NotSimulated('dig without a name (the root NS query) is not simulated');
  if (server !== undefined && !isIPv4(server)) throw new NotSimulated(`dig @${server}: a server by name is not simulated`);
  const conf = resolvConf(rt, pod);
  const target = server ?? conf.nameservers[0];
  if (!target) throw new NotSimulated('a resolv.conf without nameservers is not simulated');
  const names = search ? searchList(conf, name) : [name.endsWith('.') ? name : `${name}.`];
  // UDP is retried +tries times, +time seconds each; TCP is tried once.
  const result = await lookup(rt, pod, target, names, qtype, tcp, (tcp ? 1 : tries) * time * 1000, signal);
  const banner = ['', `; <<>> DiG ${BIND_VERSION} <<>> ${args.join(' ')}`, ';; global options: +cmd'];
  if ('failed' in result) {
    const line = ';; connection timed out; no servers could be reached';
    return { stdout: `${(short ? [line] : [...banner, line]).join('\n')}\n`, exitCode: 9 };
  }
  const { message } = result;
  if (short) return { stdout: message.answer.map((r) => `${r.data}\n`).join(''), exitCode: 0 };
  const flags = ['qr', ...(message.aa ? ['aa'] : []), 'rd', ...(message.ra ? ['ra'] : [])].join(' ');
  const lines = [
    ...banner,
    ';; Got answer:',
    `;; ->>HEADER<<- opcode: QUERY, status: ${message.rcode}, id: ${Math.floor(Math.random() * 65536)}`,
    `;; flags: ${flags}; QUERY: 1, ANSWER: ${message.answer.length}, AUTHORITY: ${message.authority.length}, ADDITIONAL: 1`,
    ...(message.ra ? [] : [';; WARNING: recursion requested but not available']),
    '',
    ';; OPT PSEUDOSECTION:',
    '; EDNS: version: 0, flags:; udp: 4096',
    ';; QUESTION SECTION:',
    columns([[`;${result.name}`, 0], ['IN', 32], [qtype, 40]]),
    '',
    ...(message.answer.length ? [';; ANSWER SECTION:', ...message.answer.map(record), ''] : []),
    ...(message.authority.length ? [';; AUTHORITY SECTION:', ...message.authority.map(record), ''] : []),
    ';; Query time: 0 msec',
    `;; SERVER: ${target}#53(${target})`,
    `;; WHEN: ${when(rt.clock.now())}`,
    `;; MSG SIZE  rcvd: ${messageSize(result.name, message)}`,
    '',
  ];
  return { stdout: `${lines.join('\n')}\n`, exitCode: 0 };
};

/** `nslookup NAME [SERVER]`: the search list, A then AAAA; NXDOMAIN for every name exits 1. */
export const nslookup: Program = async ({ runtime: rt, pod, argv, signal }): Promise<ProgramResult> => {
  const args = argv.slice(1);
  if (args.length === 0 || args.length > 2 || args.some((a) => a.startsWith('-'))) throw new NotSimulated(`nslookup ${args.join(' ')}: interactive mode and options are not simulated`);
  const [name, server] = args as [string, string | undefined];
  if (server !== undefined && !isIPv4(server)) throw new NotSimulated(`nslookup with server ${server} by name is not simulated`);
  const conf = resolvConf(rt, pod);
  const target = server ?? conf.nameservers[0];
  if (!target) throw new NotSimulated('a resolv.conf without nameservers is not simulated');
  const header = `Server:\t\t${target}\nAddress:\t${target}#53\n\n`;
  const a = await lookup(rt, pod, target, searchList(conf, name), 'A', false, DIG_TRIES * DIG_TIMEOUT_S * 1000, signal);
  if ('failed' in a) return { stdout: ';; connection timed out; no servers could be reached\n\n', exitCode: 1 };
  if (a.message.rcode === 'NXDOMAIN') return { stdout: `${header}** server can't find ${name}: NXDOMAIN\n\n`, exitCode: 1 };
  const aaaa = await lookup(rt, pod, target, [a.name], 'AAAA', false, DIG_TRIES * DIG_TIMEOUT_S * 1000, signal);
  const records = [...a.message.answer, ...('failed' in aaaa ? [] : aaaa.message.answer)].filter((r) => r.type === 'A' || r.type === 'AAAA');
  if (records.length === 0) throw new NotSimulated(`nslookup of a name without addresses (${a.name}) is not simulated`);
  const shown = records.map((r) => `Name:\t${r.name.slice(0, -1)}\nAddress: ${r.data}\n`).join('');
  return { stdout: `${header}${a.message.aa ? '' : 'Non-authoritative answer:\n'}${shown}\n`, exitCode: 0 };
};
