// calico/node's own programs: BIRD's light client `birdcl`/`birdcl6` and
// `calico-node`'s health checks and status, answering from the BGP and Felix
// model (dataplane/). Sources: projectcalico/bird client/client.c (options,
// reply codes, errors), nest/cli.c, nest/proto.c, nest/cmds.c, nest/rt-table.c,
// proto/bgp/bgp.c (what the daemon answers); projectcalico/calico
// node/cmd/calico-node/main.go, node/pkg/health (readiness and liveness
// rules and messages), node/pkg/status (-show-status); olekukonko/tablewriter
// v0.0.5 (its tables).
//
// BIRD and Felix run in the calico-node container of a calico-node pod
// (calico-system, k8s-app=calico-node): BIRD and BIRD6 when its
// CALICO_NETWORKING_BACKEND is bird (rc.local), Felix always. In any other
// container of the image nothing runs and nothing of the host is mounted.
import type { Runtime } from '../controllers/runtime.ts';
import { bgpAddress, calicoNodeRun, lastReconfiguration, sessions } from '../dataplane/bgp.ts';
import { felixReady } from '../dataplane/calico-node.ts';
import { birdRoutes } from '../dataplane/routes.ts';
import { NotSimulated, type Program, type ProgramContext } from './program.ts';

/** BIRD's version string as calico/node v3.29–v3.32 ship it (projectcalico/bird sysdep/config.h, BIRD_VERSION v0.3.3-211). */
const BIRD_VERSION = 'v0.3.3+birdv1.6.8';

type Family = 4 | 6;

/** The node whose BIRD (or BIRD6) listens on `socket` in this container, if any. */
function daemonAt(context: ProgramContext, socket: string): { node: string; family: Family; started: number } | undefined {
  const path = socket.replace(/^\/run\//, '/var/run/');
  const family: Family | undefined = path === '/var/run/calico/bird.ctl' ? 4 : path === '/var/run/calico/bird6.ctl' ? 6 : undefined;
  const node = calicoNodeContainer(context);
  const run = node === undefined ? undefined : calicoNodeRun(context.runtime, node);
  return family && node && run?.bird ? { node, family, started: run.started } : undefined;
}

/** The node this container is calico-node for; undefined for any other container of the image. */
function calicoNodeContainer({ pod, container }: ProgramContext): string | undefined {
  const calicoNode = pod.metadata.namespace === 'calico-system' && pod.metadata.labels?.['k8s-app'] === 'calico-node' && container.name === 'calico-node';
  return calicoNode ? (pod.spec as { nodeName?: string }).nodeName : undefined;
}

/** The calico/node minor release of the image (messages were lower-cased in v3.31). */
function releaseMinor(image: string): number {
  return Number(/:v3\.(\d+)\./.exec(image)?.[1] ?? 29);
}

// ---------------------------------------------------------------------------
// BIRD's control socket

/** strftime as BIRD's time formats use it, in the container's zone (UTC). */
function birdTime(ms: number, format: '%T' | '%F' | '%F %T'): string {
  const iso = new Date(ms).toISOString();
  return format === '%T' ? iso.slice(11, 19) : format === '%F' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** tf_proto and tf_route: the time of day within 20 hours, else the date (conf/conf.c). */
function since(ms: number, now: number): string {
  return birdTime(ms, now - ms < 20 * 3600_000 ? '%T' : '%F');
}

/** cli_printf: `NNNN-` for the first line of a reply code, a space for the next ones, `NNNN ` for the last. */
function replyLines(lines: [number, string][]): string[] {
  let last = -1;
  return lines.map(([code, text]) => {
    const continued = code < 0 && -code === last;
    last = Math.abs(code);
    return continued ? ` ${text}` : `${String(Math.abs(code)).padStart(4, '0')}${code < 0 ? '-' : ' '}${text}`;
  });
}

const pad = (text: string, width: number) => text.padEnd(width);

/** What BIRD on `node` answers to `command` (after its hello), with reply codes. */
function birdReply(rt: Runtime, node: string, family: Family, started: number, command: string): string[] {
  const now = rt.clock.now().getTime();
  const words = command.trim().split(/\s+/);
  if (command === 'show status') {
    return replyLines([
      [-1000, `BIRD ${BIRD_VERSION}`],
      [-1011, `Router ID is ${bgpAddress(rt, node) ?? '0.0.0.0'}`],
      [-1011, `Current server time is ${birdTime(now, '%F %T')}`],
      [-1011, `Last reboot on ${birdTime(started, '%F %T')}`],
      [-1011, `Last reconfiguration on ${birdTime(lastReconfiguration(rt, node, family), '%F %T')}`],
      [13, 'Daemon is up and running'],
    ]);
  }
  if (command === 'show protocols') {
    const row = (name: string, proto: string, state: string, at: number, info: string): [number, string] =>
      [-1002, `${pad(name, 8)} ${pad(proto, 8)} ${pad('master', 8)} ${pad(state, 5)}  ${pad(since(at, now), 10)}  ${info}`];
    const lines: [number, string][] = [[-2002, 'name     proto    table    state  since       info']];
    for (const [name, proto] of [['static1', 'Static'], ['kernel1', 'Kernel'], ['device1', 'Device'], ['direct1', 'Direct']]) lines.push(row(name!, proto!, 'up', started, ''));
    {
      for (const { peer, session } of sessions(rt, node, family)) lines.push(row(peer.protocol, 'BGP', session.state, session.since, pad(session.bgpState, 14) + session.error));
    }
    lines.push([0, '']);
    return replyLines(lines);
  }
  if (words[0] === 'show' && words[1] === 'route' && words.length === 2) {
    const lines: [number, string][] = [];
    let previous = '';
    for (const r of birdRoutes(rt, node, started, family)) {
      const prefix = r.dst === previous ? '' : r.dst;
      previous = r.dst;
      lines.push([-1007, `${pad(prefix, 18)} ${r.via} [${r.protocol} ${since(r.since, now)}${r.from ? ` from ${r.from}` : ''}]${r.primary ? ' *' : ''}${r.info}`]);
    }
    lines.push([0, '']);
    return replyLines(lines);
  }
  throw new NotSimulated(`BIRD's answer to "${command}" is not simulated (show status, show protocols, show route are)`);
}

/** BIRD 1.6's CLI commands (client/cmds.m4 from the grammar): the client expands abbreviations of these. */
const BIRD_COMMANDS: Record<string, Record<string, Record<string, object>> | undefined> = {
  show: { status: {}, protocols: { all: {} }, route: {}, interfaces: {}, memory: {}, symbols: {}, static: {}, ospf: {}, bfd: {}, roa: {}, rip: {} },
  dump: undefined, echo: undefined, disable: undefined, enable: undefined, restart: undefined, reload: undefined, debug: undefined,
  mrtdump: undefined, restrict: undefined, configure: undefined, down: undefined, graceful: undefined, help: undefined, quit: undefined, exit: undefined,
};

/** client/commands.c cmd_expand: each word an abbreviation of one command word; the rest passed on as arguments. */
function expandCommand(words: string[]): { command: string } | { message: string } {
  let tree: Record<string, unknown> | undefined = BIRD_COMMANDS;
  const expanded: string[] = [];
  let i = 0;
  for (; i < words.length && tree; i++) {
    const word: string = words[i]!;
    const matches: string[] = Object.keys(tree).filter((name) => name.startsWith(word));
    const exact: string | undefined = matches.find((name) => name === word);
    if (!exact && matches.length > 1) throw new NotSimulated(`birdcl: the expansions of the ambiguous "${word}" are not simulated`);
    const match = exact ?? matches[0];
    if (!match) break;
    expanded.push(match);
    tree = tree[match] as Record<string, unknown> | undefined;
  }
  // Only a complete command is one: `show` alone is not.
  if (expanded.length === 0 || (expanded.length === 1 && expanded[0] === 'show')) return { message: 'No such command. Press `?\' for help.\n' };
  return { command: [...expanded, ...words.slice(i)].join(' ') };
}

/**
 * `birdcl [-s SOCKET] [-v] [-r] [-l] [COMMAND…]`. The socket defaults to the
 * one calico/node's BIRD uses (projectcalico/bird builds with
 * --runstatedir=/var/run/calico), so `-s` may be left out. Without `-v` the
 * reply codes are stripped; the end code `0000` is never printed.
 */
export function birdcl(defaultSocket: string): Program {
  return (context) => {
    const { argv } = context;
    const name = argv[0]!;
    const usage = `Usage: ${name} [-s <control-socket>] [-v] [-r] [-l]\n`;
    let socket = defaultSocket;
    let socketGiven = false;
    let verbose = false;
    const words: string[] = [];
    // glibc getopt("s:vrl"): options anywhere before `--`, clustered, -s's value attached or next.
    for (let i = 1; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === '--') {
        words.push(...argv.slice(i + 1));
        break;
      }
      if (!arg.startsWith('-') || arg === '-') {
        words.push(arg);
        continue;
      }
      for (let j = 1; j < arg.length; j++) {
        const option = arg[j]!;
        if (option === 'v') verbose = true;
        else if (option === 's') {
          const value = arg.length > j + 1 ? arg.slice(j + 1) : argv[++i];
          if (value === undefined) return { stderr: `${name}: option requires an argument -- 's'\n${usage}`, exitCode: 1 };
          socket = value;
          socketGiven = true;
          break;
        } else if (option === 'l') {
          if (!socketGiven) socket = socket.split('/').pop()!;
        } else if (option === 'r') throw new NotSimulated('birdcl -r (restricted mode) is not simulated');
        else return { stderr: `${name}: invalid option -- '${option}'\n${usage}`, exitCode: 1 };
      }
    }
    const daemon = daemonAt(context, socket);
    if (!daemon) return { stderr: `Unable to connect to server control socket (${socket}): No such file or directory\n`, exitCode: 1 };
    if (words.length === 0) throw new NotSimulated('birdcl reading commands from stdin is not simulated');
    // client.c server_got_reply: a continuation line loses its space (or gets five with -v), a coded line its code
    // (unless -v), code 0 (the end of a reply) prints nothing.
    const print = (lines: string[]) => lines.map((line) => {
      if (line.startsWith(' ')) return `${verbose ? '     ' : ''}${line.slice(1)}\n`;
      return line.startsWith('0000') ? '' : `${verbose ? line : line.slice(5)}\n`;
    }).join('');
    const hello = print(replyLines([[1, `BIRD ${BIRD_VERSION} ready.`]]));
    const expanded = expandCommand(words);
    if ('message' in expanded) return { stdout: hello + expanded.message, exitCode: 0 };
    return { stdout: hello + print(birdReply(context.runtime, daemon.node, daemon.family, daemon.started, expanded.command)), exitCode: 0 };
  };
}

// ---------------------------------------------------------------------------
// calico-node

const HEALTH_FLAGS = ['felix-live', 'bird-live', 'bird6-live', 'felix-ready', 'bird-ready', 'bird6-ready'] as const;
type HealthFlag = (typeof HEALTH_FLAGS)[number];

/** Go's flag package: `-name`, `--name`, `-name=value`; parsing stops at the first non-flag. */
function goFlags(argv: string[]): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  let i = 1;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    const match = /^--?([^-=][^=]*)(?:=(.*))?$/.exec(arg);
    if (!match) break;
    const [, key, value] = match;
    if (key === 'threshold-time' && value === undefined) flags.set(key, argv[++i] ?? '');
    else flags.set(key!, value ?? 'true');
  }
  return { flags, rest: argv.slice(i) };
}

/** time.ParseDuration for the forms a threshold takes (`30s`, `1m30s`, `500ms`). */
function goDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n: string, unit: string) => {
    total += Number(n) * units[unit]!;
    return '';
  });
  if (rest !== '' || text === '') throw new NotSimulated(`calico-node -threshold-time ${text} is not simulated`);
  return total;
}

/**
 * `calico-node -felix-ready -bird-ready …` (node/pkg/health): every check
 * asked for; success prints nothing and exits 0, a failure prints the error
 * and exits 1. The checks run concurrently in calico-node and the first
 * error wins; here the first failing one in the order they are started.
 * `-show-status` prints node/pkg/status's tables; `-v` the version.
 */
export const calicoNode: Program = (context) => {
  const { flags, rest } = goFlags(context.argv);
  const known = new Set<string>([...HEALTH_FLAGS, 'threshold-time', 'show-status', 'v']);
  const unknown = [...flags.keys()].find((f) => !known.has(f));
  if (unknown !== undefined || rest.length > 0) throw new NotSimulated(`calico-node ${context.argv.slice(1).join(' ')} is not simulated`);
  const on = (flag: string) => ['true', '1', 't', 'T', 'TRUE', 'True'].includes(flags.get(flag) ?? 'false');
  if (HEALTH_FLAGS.some(on)) {
    const threshold = goDuration(flags.get('threshold-time') ?? '30s');
    for (const flag of HEALTH_FLAGS) {
      if (!on(flag)) continue;
      const error = healthCheck(context, flag, threshold);
      if (error) return { stdout: `${error}\n`, exitCode: 1 };
    }
    return { exitCode: 0 };
  }
  if (on('v')) return { stdout: `${context.container.image.split(':').pop()}\n`, exitCode: 0 };
  if (on('show-status')) return { stdout: showStatus(context), exitCode: 0 };
  throw new NotSimulated(`calico-node ${context.argv.slice(1).join(' ')} is not simulated`);
};

/** One check of node/pkg/health RunOutput; its error text, or undefined when it passes. */
function healthCheck(context: ProgramContext, flag: HealthFlag, threshold: number): string | undefined {
  const rt = context.runtime;
  const node = calicoNodeContainer(context);
  const lowerCase = releaseMinor(context.container.image) >= 31;
  const felixDown = 'Get "http://localhost:9099/{}": dial tcp 127.0.0.1:9099: connect: connection refused';
  switch (flag) {
    case 'felix-live':
      return node === undefined ? `calico/node is not ready: Felix is not live: ${felixDown.replace('{}', 'liveness')}` : undefined;
    case 'felix-ready':
      if (node === undefined) return `calico/node is not ready: felix is not ready: ${felixDown.replace('{}', 'readiness')}`;
      return felixReady(rt, node) ? undefined : 'calico/node is not ready: felix is not ready: readiness probe reporting 503';
    case 'bird-live':
    case 'bird6-live': {
      const bird = flag === 'bird-live' ? 'bird' : 'bird6';
      // `sv status /etc/service/enabled/confd` fails (exit status 1) when rc.local enabled no BIRD.
      if (!daemonAt(context, `/var/run/calico/${bird}.ctl`)) return `calico/node is not ready: ${bird}/confd is not live: exit status 1`;
      return undefined;
    }
    case 'bird-ready':
    case 'bird6-ready': {
      const family: Family = flag === 'bird-ready' ? 4 : 6;
      const prefix = `calico/node is not ready: ${family === 4 ? 'BIRD' : 'BIRD6'} is not ready: `;
      const run = node === undefined ? undefined : calicoNodeRun(rt, node);
      if (!run) return `${prefix}${lowerCase ? 'failed' : 'Failed'} to stat() nodename file: stat /var/lib/calico/nodename: no such file or directory`;
      const suffix = family === 4 ? '' : '6';
      if (!daemonAt(context, `/var/run/calico/bird${suffix}.ctl`)) {
        return `${prefix}${lowerCase ? 'error' : 'Error'} querying BIRD: unable to connect to BIRDv${family} socket: dial unix /var/run/bird/bird${suffix}.ctl: connect: no such file or directory`;
      }
      const peers = sessions(rt, node!, family);
      const down = peers.filter((p) => !p.session.established).map((p) => p.peer.ip);
      // The nodename file is written at calico-node's start: until `threshold` after it every peer must be up, then one.
      const young = rt.clock.now().getTime() - run.started < threshold;
      if (peers.length > 0 && (young ? down.length > 0 : down.length === peers.length)) return `${prefix}BGP not established with ${down.join(',')}`;
      return undefined;
    }
  }
}

/** node/pkg/status Show: for IPv4 then IPv6, BIRD's status, its BGP peers and its routes, as tablewriter tables. */
function showStatus(context: ProgramContext): string {
  const rt = context.runtime;
  const now = rt.clock.now().getTime();
  let out = '';
  for (const family of [4, 6] as const) {
    const daemon = daemonAt(context, `/var/run/calico/bird${family === 4 ? '' : '6'}.ctl`);
    if (!daemon) {
      const error = `Error querying BIRD: unable to connect to BIRDv${family} socket: dial unix /var/run/bird/bird${family === 4 ? '' : '6'}.ctl: connect: no such file or directory`;
      out += `Error getting birdStatus: ${error}\nError getting bird BGP peers: ${error}\nError getting birdRoutes: ${error}\n\n\n`;
      continue;
    }
    const { node, started } = daemon;
    out += `\nbird v${family} status\n`;
    out += table(['Ready', 'Version', 'RouteID', 'ServerTime', 'LastBoot', 'LastReconfig'],
      [['true', BIRD_VERSION, bgpAddress(rt, node) ?? '0.0.0.0', birdTime(now, '%F %T'), birdTime(started, '%F %T'), birdTime(lastReconfiguration(rt, node, family), '%F %T')]]);
    out += `\nbird v${family} BGP peers\n`;
    const peers = sessions(rt, node, family);
    out += table(['Peer address', 'Peer type', 'State', 'Since', 'BGPState'],
      peers.map(({ peer, session }) => [peer.ip, peer.protocol.split('_')[0]!, session.state, since(session.since, now), session.bgpState]));
    out += `\nbird v${family} routes\n`;
    const routes = birdRoutes(rt, node, started, family);
    out += table(['Destination', 'Gateway', 'Iface', 'LearnedFrom', 'primary'], routes.map((r) => {
      const via = /^via (\S+) on (.*)$/.exec(r.via);
      const iface = via ? via[2]! : r.via === 'blackhole' ? 'blackhole' : r.via.replace(/^dev /, '');
      return [r.dst, via ? via[1]! : 'N/A', iface, r.protocol, r.primary ? '*' : ''];
    }));
    out += '\n\n';
  }
  return out;
}

// ---------------------------------------------------------------------------
// olekukonko/tablewriter v0.0.5 with its defaults: borders, headers
// upper-cased and centred, cells wrapped at 30 columns (words, least
// raggedness), numbers right-aligned, everything else left-aligned.

const MAX_CELL_WIDTH = 30;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map(() => 0);
  // parseDimension: a column is as wide as its widest cell, wrapped or not, up to 30 unless a word is longer.
  const cell = (text: string, column: number): string[] => {
    const width = Math.min(MAX_CELL_WIDTH, Math.max(...text.split('\n').map((l) => l.length)));
    const lines = wrap(text, width);
    widths[column] = Math.max(widths[column]!, width, ...lines.map((l) => l.length));
    return lines;
  };
  const head = headers.map(cell);
  const body = rows.map((row) => row.map(cell));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const centre = (text: string, width: number) => {
    const gap = width - text.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(Math.max(0, left)) + text + ' '.repeat(Math.max(0, gap - left));
  };
  const title = (text: string) => text.replaceAll('_', ' ').trim().toUpperCase();
  let out = line;
  for (let x = 0; x < Math.max(...head.map((h) => h.length)); x++) out += `|${head.map((h, y) => ` ${centre(title(h[x] ?? ''), widths[y]!)} `).join('|')}|\n`;
  out += line;
  for (const row of body) {
    const height = Math.max(...row.map((c) => c.length));
    for (let x = 0; x < height; x++) {
      out += `|${row.map((c, y) => {
        const text = c[x] ?? '  ';
        const numeric = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/.test(text.trim());
        return ` ${numeric ? text.padStart(widths[y]!) : text.padEnd(widths[y]!)} `;
      }).join('|')}|\n`;
    }
  }
  return out + line;
}

/** WrapString: words split on single spaces, broken for the least raggedness (WrapWords, penalty 1e5 for too-long lines). */
function wrap(text: string, limit: number): string[] {
  const words = text.replaceAll('\n', ' ').split(' ');
  const lim = Math.max(limit, ...words.map((w) => w.length));
  const n = words.length;
  const length = (i: number, j: number) => words.slice(i, j + 1).reduce((sum, w) => sum + w.length, 0) + (j - i);
  const cost = new Array<number>(n).fill(2 ** 31 - 1);
  const breakAt = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (length(i, n - 1) <= lim) {
      cost[i] = 0;
      breakAt[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const d = lim - length(i, j - 1);
      let c = d * d + cost[j]!;
      if (length(i, j - 1) > lim) c += 1e5;
      if (c < cost[i]!) {
        cost[i] = c;
        breakAt[i] = j;
      }
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < n; i = breakAt[i]!) lines.push(words.slice(i, breakAt[i]).join(' '));
  return lines;
}

