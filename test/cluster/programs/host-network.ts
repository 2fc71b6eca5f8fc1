// The read-only dumps of a node's network that calico/node holds and a
// diagnostics bundle runs in calico-node (calicoctl cluster diags, v3.31+:
// `ip route show table all`, `ip -6 route show table all`, `ip rule`,
// `ip addr`, `ip link`, `ip neigh`, `iptables-legacy-save -c`,
// `iptables-nft-save -c`, `nft -n -a list ruleset`, `ipset list`), and the
// usual shorter forms. calico-node is hostNetwork: these show the host's
// network (dataplane/routes.ts); a container with its own network namespace
// would see only its own, which is not simulated.
//
// What is modelled of the rules: Felix's chains (felix/rules: the hooks from
// the built-in chains, the workload dispatch chains, per workload `cali-tw-`
// and `cali-fw-` chains jumping to their profiles and to the `cali-pi-`/
// `cali-po-` chains of the Kubernetes NetworkPolicies that select the pod,
// NAT outgoing) with Felix's rule-hash comments; Felix's ipsets. Not
// modelled: the rules' bodies beyond those jumps, and kube-proxy's and the
// kubelet's chains; the ipset headers' hash seeds and memory sizes (made up,
// stable per node). Felix writes through the backend FelixConfiguration
// `iptablesBackend` names; Auto detects nft on the scenarios' hosts (Ubuntu
// 24.04, whose kubelet marks nft). The other backend's save prints nothing:
// no table of it is loaded.
import { createHash } from 'node:crypto';
import type { Runtime } from '../controllers/runtime.ts';
import { calicoNodeRun, learnedRoutes } from '../dataplane/bgp.ts';
import { HOST_INTERFACE, host, kernelRoutes, pools, tunnelAddress, workloads, type KernelRoute } from '../dataplane/routes.ts';
import { labelSelectorFromObject, matchesLabels, type LabelSelectorObject } from '../selectors.ts';
import { NotSimulated, type Program, type ProgramContext } from './program.ts';
import { formatV4, parseV4 } from '../controllers/ipam.ts';

/** The node whose host network this hostNetwork container shares. */
function hostNode(context: ProgramContext, what: string): string {
  const spec = context.pod.spec as { hostNetwork?: boolean; nodeName?: string };
  if (!spec.hostNetwork || !spec.nodeName) throw new NotSimulated(`${what} in a pod's own network namespace is not simulated`);
  return spec.nodeName;
}

// ---------------------------------------------------------------------------
// Interfaces

interface Link {
  index: number;
  name: string;
  /** `@if3`, `@NONE`. */
  peer?: string;
  flags: string;
  mtu: number;
  qdisc: string;
  state: string;
  link: string;
  netns?: string;
  inet?: string;
  brd?: string;
  inet6?: string;
  /** A dual-stack node's global IPv6 address on the interface (listed before the link-local one). */
  inet6Global?: string;
}

function mac(seed: string, prefix: string): string {
  const bytes = createHash('sha256').update(seed).digest();
  return [prefix, ...[0, 1, 2].map((i) => bytes[i]!.toString(16).padStart(2, '0'))].join(':');
}

/** An EUI-64 link-local address from a MAC, as the kernel forms it. */
function linkLocal(address: string): string {
  const b = address.split(':').map((x) => parseInt(x, 16));
  const words = [((b[0]! ^ 2) << 8) | b[1]!, (b[2]! << 8) | 0xff, 0xfe00 | b[3]!, (b[4]! << 8) | b[5]!];
  return `fe80::${words.map((w) => w.toString(16)).join(':')}`;
}

function links(rt: Runtime, node: string): Link[] {
  const me = host(rt, node);
  const allPools = pools(rt);
  const ethMac = mac(node, '08:00:27');
  const result: Link[] = [
    { index: 1, name: 'lo', flags: 'LOOPBACK,UP,LOWER_UP', mtu: 65536, qdisc: 'noqueue', state: 'UNKNOWN', link: 'link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00', inet: '127.0.0.1/8', inet6: '::1/128' },
    { index: 2, name: HOST_INTERFACE, flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', mtu: 1500, qdisc: 'fq_codel', state: 'UP', link: `link/ether ${ethMac} brd ff:ff:ff:ff:ff:ff`, inet: `${me.address}/${me.prefixLength}`, brd: formatV4(parseV4(me.network)[0] + 2 ** (32 - me.prefixLength) - 1), inet6: `${linkLocal(ethMac)}/64`, ...(rt.hostAddress6(node) ? { inet6Global: rt.hostAddress6(node) } : {}) },
  ];
  const ipip = allPools.some((p) => p.ipipMode !== 'Never');
  if (ipip) {
    const address = tunnelAddress(rt, node, 'tunl0');
    result.push({ index: result.length + 1, name: 'tunl0', peer: 'NONE', flags: 'NOARP,UP,LOWER_UP', mtu: 1480, qdisc: 'noqueue', state: 'UNKNOWN', link: 'link/ipip 0.0.0.0 brd 0.0.0.0', ...(address ? { inet: `${address}/32` } : {}) });
  }
  if (allPools.some((p) => p.vxlanMode !== 'Never')) {
    const address = tunnelAddress(rt, node, 'vxlan.calico');
    const vtepMac = rt.api.store.get('nodes', undefined, node)?.metadata.annotations?.['projectcalico.org/VXLANTunnelMACAddr'] || mac(`${node}/vxlan`, '66:6a:1c');
    result.push({ index: result.length + 1, name: 'vxlan.calico', flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', mtu: 1450, qdisc: 'noqueue', state: 'UNKNOWN', link: `link/ether ${vtepMac} brd ff:ff:ff:ff:ff:ff`, ...(address ? { inet: `${address}/32` } : {}), inet6: `${linkLocal(vtepMac)}/64` });
  }
  const mtu = allPools.some((p) => p.vxlanMode !== 'Never') ? 1450 : ipip ? 1480 : 1500;
  for (const w of workloads(rt, node)) {
    result.push({
      index: result.length + 1, name: w.iface, peer: ipip ? 'if3' : 'if2', flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', mtu, qdisc: 'noqueue', state: 'UP',
      link: 'link/ether ee:ee:ee:ee:ee:ee brd ff:ff:ff:ff:ff:ff', netns: `cni-${uuid(w.pod.metadata.uid)}`, inet6: 'fe80::ecee:eeff:feee:eeee/64',
    });
  }
  return result;
}

function uuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** `ip link`: iproute2's format. */
function printLinks(list: Link[], addresses: 4 | 6 | 'all' | false): string {
  let out = '';
  for (const l of list) {
    const group = addresses === false ? ' mode DEFAULT' : '';
    out += `${l.index}: ${l.name}${l.peer ? `@${l.peer}` : ''}: <${l.flags}> mtu ${l.mtu} qdisc ${l.qdisc} state ${l.state}${group} group default qlen 1000\n`;
    out += `    ${l.link}${l.netns ? ` link-netns ${l.netns}` : ''}\n`;
    if (addresses === false) continue;
    if (l.inet && addresses !== 6) {
      out += `    inet ${l.inet}${l.brd ? ` brd ${l.brd}` : ''} scope ${l.name === 'lo' ? 'host' : 'global'} ${l.name}\n       valid_lft forever preferred_lft forever\n`;
    }
    if (l.inet6Global && addresses !== 4) out += `    inet6 ${l.inet6Global} scope global \n       valid_lft forever preferred_lft forever\n`;
    if (l.inet6 && addresses !== 4) {
      out += l.name === 'lo'
        ? '    inet6 ::1/128 scope host noprefixroute \n       valid_lft forever preferred_lft forever\n'
        : `    inet6 ${l.inet6} scope link \n       valid_lft forever preferred_lft forever\n`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// ip

function printRoute(r: KernelRoute): string {
  const parts = [r.type, r.dst, r.via && `via ${r.via}`, r.dev && `dev ${r.dev}`, r.table && `table ${r.table}`, r.proto && `proto ${r.proto}`, r.scope && `scope ${r.scope}`, r.src && `src ${r.src}`, r.onlink && 'onlink'];
  return `${parts.filter(Boolean).join(' ')}\n`;
}

/** The local table the kernel keeps for the addresses on the interfaces. */
function localRoutes(list: Link[]): KernelRoute[] {
  const routes: KernelRoute[] = [];
  for (const l of list) {
    if (!l.inet) continue;
    const [address, bits] = l.inet.split('/');
    const size = 2 ** (32 - Number(bits));
    const base = Math.floor(parseV4(address!)[0] / size) * size;
    if (Number(bits) < 32) routes.push({ type: 'local', dst: `${formatV4(base)}/${bits}`, dev: l.name, table: 'local', proto: 'kernel', scope: 'host', src: address });
    routes.push({ type: 'local', dst: address!, dev: l.name, table: 'local', proto: 'kernel', scope: 'host', src: address });
    if (Number(bits) < 31) routes.push({ type: 'broadcast', dst: formatV4(base + size - 1), dev: l.name, table: 'local', proto: 'kernel', scope: 'link', src: address });
  }
  return routes;
}

/**
 * `ip -6 route`: the kernel's routes for the interfaces' networks (metric
 * 256), then on a dual-stack node Calico's IPv6 routes (routes.ts with
 * family 6: BIRD6's `proto bird`, Felix's; metric 1024 as the kernel gives a
 * route added without one), the link-local ones last. Simulated: the order
 * is the model's (by destination), not the kernel's fib6 walk.
 */
function ipv6Routes(rt: Runtime, node: string, list: Link[], all: boolean): string {
  let out = '';
  for (const l of list) if (l.inet6Global) out += `${host(rt, node, 6).network} dev ${l.name} proto kernel metric 256 pref medium\n`;
  if (rt.hostAddress6(node)) {
    for (const r of kernelRoutes(rt, node, 6)) {
      if (r.proto === 'kernel') continue;
      const dev = r.type === 'blackhole' ? 'lo' : r.dev;
      out += `${[r.type, r.dst, r.via && `via ${r.via}`, dev && `dev ${dev}`, r.proto && `proto ${r.proto}`, 'metric 1024', r.onlink && 'onlink'].filter(Boolean).join(' ')} pref medium\n`;
    }
  }
  for (const l of list) {
    if (l.name === 'lo') out += '::1 dev lo proto kernel metric 256 pref medium\n';
    else if (l.inet6) out += `fe80::/64 dev ${l.name} proto kernel metric 256 pref medium\n`;
  }
  if (all) {
    for (const l of list) if (l.inet6Global) out += `local ${l.inet6Global.split('/')[0]} dev ${l.name} table local proto kernel metric 0 pref medium\n`;
    for (const l of list) if (l.inet6) out += `local ${l.inet6.split('/')[0]} dev ${l.name} table local proto kernel metric 0 pref medium\n`;
    for (const l of list) if (l.inet6 && l.name !== 'lo') out += `multicast ff00::/8 dev ${l.name} table local proto kernel metric 256 pref medium\n`;
  }
  return out;
}

const IP_OBJECTS: Record<string, string> = {};
for (const [object, min] of [['route', 'r'], ['address', 'a'], ['link', 'l'], ['neighbour', 'n'], ['neighbor', 'n'], ['rule', 'ru']] as const) {
  for (let i = min.length; i <= object.length; i++) IP_OBJECTS[object.slice(0, i)] ??= object === 'neighbor' ? 'neighbour' : object;
}

/** `ip [-4|-6] OBJECT [show|list|ls] [table all|main|local]` for route, address, link, neigh and rule. */
export const ip: Program = (context) => {
  const args = context.argv.slice(1);
  let family: 4 | 6 | undefined;
  while (args[0]?.startsWith('-')) {
    const option = args.shift()!;
    if (option === '-4') family = 4;
    else if (option === '-6') family = 6;
    else throw new NotSimulated(`ip ${option} is not simulated`);
  }
  const object = IP_OBJECTS[args.shift() ?? ''];
  if (args[0] && ['show', 'list', 'ls', 'lst', 'sh'].includes(args[0])) args.shift();
  const rt = context.runtime;
  const node = hostNode(context, 'ip');
  const list = links(rt, node);
  const table = args[0] === 'table' ? args[1] : undefined;
  if (object === 'route' && (args.length === 0 || (args.length === 2 && ['all', 'main', 'local'].includes(table!)))) {
    if (family === 6) return { stdout: ipv6Routes(rt, node, list, table === 'all'), exitCode: 0 };
    const main = table === 'local' ? [] : kernelRoutes(rt, node);
    const local = table === 'all' || table === 'local' ? localRoutes(list) : [];
    return { stdout: [...main, ...local].map(printRoute).join(''), exitCode: 0 };
  }
  if (args.length > 0) throw new NotSimulated(`ip ${context.argv.slice(1).join(' ')} is not simulated`);
  if (object === 'address') return { stdout: printLinks(list, family ?? 'all'), exitCode: 0 };
  if (object === 'link') return { stdout: printLinks(list, false), exitCode: 0 };
  if (object === 'rule') {
    return { stdout: family === 6 ? '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n' : '0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n', exitCode: 0 };
  }
  if (object === 'neighbour') return { stdout: family === 6 ? '' : neighbours(rt, node), exitCode: 0 };
  throw new NotSimulated(`ip ${context.argv.slice(1).join(' ')} is not simulated`);
};

/** The neighbours the host talks to: its gateway and BGP peers (REACHABLE), and Felix's static entries for remote VTEPs. */
function neighbours(rt: Runtime, node: string): string {
  const me = host(rt, node);
  let out = me.gateway ? `${me.gateway} dev ${HOST_INTERFACE} lladdr ${mac(me.gateway, '0a:00:27')} REACHABLE\n` : '';
  for (const other of learnedRoutes(rt, node).keys()) {
    const address = host(rt, other).address;
    if (address !== me.address) out += `${address} dev ${HOST_INTERFACE} lladdr ${mac(other, '08:00:27')} REACHABLE\n`;
  }
  if (pools(rt).some((p) => p.vxlanMode !== 'Never')) {
    const macs = new Map(rt.api.store.list('nodes').map((n) => [n.metadata.annotations?.['projectcalico.org/IPv4VXLANTunnelAddr'], n.metadata.annotations?.['projectcalico.org/VXLANTunnelMACAddr']]));
    for (const route of kernelRoutes(rt, node)) {
      const vtepMac = route.dev === 'vxlan.calico' && route.via ? macs.get(route.via) : undefined;
      if (vtepMac) out += `${route.via} dev vxlan.calico lladdr ${vtepMac} PERMANENT\n`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Felix's iptables rules and ipsets

type Table = 'raw' | 'mangle' | 'nat' | 'filter';

interface Rule {
  /** iptables-save's basic fields (`-i cali+`), then its matches after the comment. */
  fields: string[];
  matches: string[];
  /** `-j X`, `-g X`. */
  target: string;
}

const BUILTIN: Record<Table, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** hashutils.GetLengthLimitedID: a chain name over 28 characters becomes the prefix, `_` and a hash. */
function limitedName(prefix: string, suffix: string): string {
  if (prefix.length + suffix.length <= 28 && !(prefix.length + suffix.length === 28 && suffix.startsWith('_'))) return prefix + suffix;
  return `${prefix}_${createHash('sha256').update(suffix).digest('base64url').slice(0, 28 - 1 - prefix.length)}`;
}

function felixChains(rt: Runtime, node: string): Map<Table, Map<string, Rule[]>> {
  const tables = new Map<Table, Map<string, Rule[]>>();
  const chain = (table: Table, name: string) => {
    let chains = tables.get(table);
    if (!chains) tables.set(table, (chains = new Map()));
    let rules = chains.get(name);
    if (!rules) chains.set(name, (rules = []));
    return rules;
  };
  const add = (table: Table, name: string, target: string, fields: string[] = [], matches: string[] = []) => chain(table, name).push({ fields, matches, target });
  for (const table of ['raw', 'mangle', 'nat', 'filter'] as const) for (const builtin of BUILTIN[table]) chain(table, builtin);
  add('raw', 'PREROUTING', '-j cali-PREROUTING');
  add('raw', 'OUTPUT', '-j cali-OUTPUT');
  add('raw', 'cali-PREROUTING', '-j cali-from-host-endpoint');
  add('raw', 'cali-OUTPUT', '-j cali-to-host-endpoint');
  chain('raw', 'cali-from-host-endpoint');
  chain('raw', 'cali-to-host-endpoint');
  add('mangle', 'PREROUTING', '-j cali-PREROUTING');
  add('mangle', 'POSTROUTING', '-j cali-POSTROUTING');
  add('mangle', 'cali-PREROUTING', '-j cali-from-host-endpoint');
  add('mangle', 'cali-POSTROUTING', '-j cali-to-host-endpoint');
  chain('mangle', 'cali-from-host-endpoint');
  chain('mangle', 'cali-to-host-endpoint');
  add('nat', 'PREROUTING', '-j cali-PREROUTING');
  add('nat', 'OUTPUT', '-j cali-OUTPUT');
  add('nat', 'POSTROUTING', '-j cali-POSTROUTING');
  add('nat', 'cali-PREROUTING', '-j cali-fip-dnat');
  add('nat', 'cali-OUTPUT', '-j cali-fip-dnat');
  add('nat', 'cali-POSTROUTING', '-j cali-fip-snat');
  add('nat', 'cali-POSTROUTING', '-j cali-nat-outgoing');
  chain('nat', 'cali-fip-dnat');
  chain('nat', 'cali-fip-snat');
  chain('nat', 'cali-nat-outgoing');
  if (natOutgoingPools(rt).length > 0) add('nat', 'cali-nat-outgoing', '-j MASQUERADE --random-fully', [], ['-m set --match-set cali40masq-ipam-pools src', '-m set ! --match-set cali40all-ipam-pools dst']);
  add('filter', 'INPUT', '-j cali-INPUT');
  add('filter', 'FORWARD', '-j cali-FORWARD');
  add('filter', 'OUTPUT', '-j cali-OUTPUT');
  add('filter', 'cali-INPUT', '-g cali-wl-to-host', ['-i cali+']);
  add('filter', 'cali-INPUT', '-j cali-from-host-endpoint');
  add('filter', 'cali-FORWARD', '-j cali-from-wl-dispatch', ['-i cali+']);
  add('filter', 'cali-FORWARD', '-j cali-to-wl-dispatch', ['-o cali+']);
  add('filter', 'cali-OUTPUT', '-j cali-to-wl-dispatch', ['-o cali+']);
  add('filter', 'cali-OUTPUT', '-j cali-to-host-endpoint');
  add('filter', 'cali-wl-to-host', '-j cali-from-wl-dispatch');
  for (const name of ['cali-from-wl-dispatch', 'cali-to-wl-dispatch', 'cali-from-host-endpoint', 'cali-to-host-endpoint']) chain('filter', name);
  const policies = rt.api.store.list('networkpolicies.networking.k8s.io');
  for (const w of workloads(rt, node)) {
    const ns = w.pod.metadata.namespace!;
    const sa = (w.pod.spec as { serviceAccountName?: string }).serviceAccountName ?? 'default';
    add('filter', 'cali-from-wl-dispatch', `-g cali-fw-${w.iface}`, [`-i ${w.iface}`]);
    add('filter', 'cali-to-wl-dispatch', `-g cali-tw-${w.iface}`, [`-o ${w.iface}`]);
    const selecting = policies.filter((p) => p.metadata.namespace === ns && matchesLabels(labelSelectorFromObject((p.spec as { podSelector?: LabelSelectorObject }).podSelector), w.pod.metadata.labels));
    for (const [direction, pfx, profilePfx] of [['tw', 'cali-pi-', 'cali-pri-'], ['fw', 'cali-po-', 'cali-pro-']] as const) {
      const own = `cali-${direction}-${w.iface}`;
      for (const policy of selecting) {
        const name = limitedName(pfx, `default/${ns}/knp.default.${policy.metadata.name}`);
        add('filter', own, `-j ${name}`);
        chain('filter', name);
      }
      for (const profile of [`kns.${ns}`, `ksa.${ns}.${sa}`]) {
        const name = limitedName(profilePfx, profile);
        add('filter', own, `-j ${name}`);
        chain('filter', name);
      }
    }
  }
  return tables;
}

function natOutgoingPools(rt: Runtime): string[] {
  return rt.api.store.list('ippools.crd.projectcalico.org').filter((p) => (p.spec as { natOutgoing?: boolean; cidr?: string }).natOutgoing && (p.spec as { cidr: string }).cidr.includes('.')).map((p) => (p.spec as { cidr: string }).cidr);
}

/** generictables.RuleHashes: sha224 chained from the chain's name through each rule, URL-safe base64, 16 characters. */
function ruleHashes(name: string, rules: Rule[]): string[] {
  let hash = createHash('sha224').update(name).digest();
  return rules.map((r) => {
    hash = createHash('sha224').update(hash).update([...r.fields, ...r.matches, r.target].join(' ')).digest();
    return hash.toString('base64url').slice(0, 16);
  });
}

/** The backend Felix writes through: FelixConfiguration `iptablesBackend`, Auto finding nft on the scenarios' hosts. */
function felixBackend(rt: Runtime): 'legacy' | 'nft' {
  const spec = rt.api.store.get('felixconfigurations.crd.projectcalico.org', undefined, 'default')?.spec as { iptablesBackend?: string } | undefined;
  return spec?.iptablesBackend?.toLowerCase() === 'legacy' ? 'legacy' : 'nft';
}

/** Felix's rules on `node` if it writes them through `backend` (it runs there and the data plane is iptables). */
function rulesThrough(rt: Runtime, node: string, backend: 'legacy' | 'nft'): Map<Table, Map<string, Rule[]>> | undefined {
  const installation = rt.api.store.get('installations.operator.tigera.io', undefined, 'default')?.spec as { calicoNetwork?: { linuxDataplane?: string } } | undefined;
  const dataplane = installation?.calicoNetwork?.linuxDataplane ?? 'Iptables';
  if (dataplane !== 'Iptables') throw new NotSimulated(`the ${dataplane} data plane's rules are not simulated`);
  return calicoNodeRun(rt, node) && felixBackend(rt) === backend ? felixChains(rt, node) : undefined;
}

/** ctime(3), as iptables-save dates its output. */
function ctime(ms: number): string {
  const d = new Date(ms);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()]!;
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]!;
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2)} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;
}

/** `iptables-save`, `iptables-legacy-save`, `iptables-nft-save` [-c] [-t TABLE] (iptables 1.8.8; the plain name is the nft variant). */
export function iptablesSave(backend: 'legacy' | 'nft'): Program {
  return (context) => {
    const args = context.argv.slice(1);
    let counters = false;
    let only: string | undefined;
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '-c' || args[i] === '--counters') counters = true;
      else if ((args[i] === '-t' || args[i] === '--table') && args[i + 1]) only = args[++i];
      else throw new NotSimulated(`${context.argv.join(' ')} is not simulated`);
    }
    const tables = rulesThrough(context.runtime, hostNode(context, context.argv[0]!), backend);
    if (!tables) return { exitCode: 0 };
    const name = context.argv[0]!.split('/').pop()!;
    const when = ctime(context.runtime.clock.now().getTime());
    let out = '';
    for (const [table, chains] of tables) {
      if (only && only !== table) continue;
      out += `# Generated by ${name} v1.8.8 (${backend === 'nft' ? 'nf_tables' : 'legacy'}) on ${when}\n*${table}\n`;
      const names = [...BUILTIN[table], ...[...chains.keys()].filter((c) => !BUILTIN[table].includes(c)).sort()];
      for (const c of names) out += BUILTIN[table].includes(c) ? `:${c} ACCEPT [0:0]\n` : `:${c} - [0:0]\n`;
      for (const c of names) {
        const rules = chains.get(c)!;
        const hashes = ruleHashes(c, rules);
        rules.forEach((r, i) => {
          out += `${counters ? '[0:0] ' : ''}${['-A', c, ...r.fields, `-m comment --comment "cali:${hashes[i]}"`, ...r.matches, r.target].join(' ')}\n`;
        });
      }
      out += `COMMIT\n# Completed on ${when}\n`;
    }
    return { stdout: out, exitCode: 0 };
  };
}

const HOOKS: Record<string, string> = { PREROUTING: 'prerouting', INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output', POSTROUTING: 'postrouting' };
const PRIORITY: Record<Table, string> = { raw: 'raw', mangle: 'mangle', nat: 'dstnat', filter: 'filter' };

/** `nft [-n] [-a] list ruleset`: the tables iptables-nft keeps, as nft lists them (matches without a native form as `xt match`). */
export const nft: Program = (context) => {
  const args = context.argv.slice(1);
  const handles = args.some((a) => /^-\w*a/.test(a));
  const words = args.filter((a) => !/^-[na]+$/.test(a));
  if (words.join(' ') !== 'list ruleset') throw new NotSimulated(`nft ${args.join(' ')} is not simulated`);
  const tables = rulesThrough(context.runtime, hostNode(context, 'nft'), 'nft');
  if (!tables) return { exitCode: 0 };
  let out = '';
  let handle = 0;
  for (const [table, chains] of tables) {
    out += `table ip ${table} {${handles ? ` # handle ${++handle}` : ''}\n`;
    const names = [...BUILTIN[table], ...[...chains.keys()].filter((c) => !BUILTIN[table].includes(c)).sort()];
    names.forEach((c, index) => {
      const rules = chains.get(c)!;
      const hashes = ruleHashes(c, rules);
      out += `${index ? '\n' : ''}\tchain ${c} {${handles ? ` # handle ${++handle}` : ''}\n`;
      if (BUILTIN[table].includes(c)) {
        const priority = table === 'nat' && (c === 'POSTROUTING' || c === 'INPUT') ? 'srcnat' : PRIORITY[table];
        out += `\t\ttype ${table === 'nat' ? 'nat' : table === 'mangle' && c === 'OUTPUT' ? 'route' : 'filter'} hook ${HOOKS[c]} priority ${priority}; policy accept;\n`;
      }
      rules.forEach((r, i) => {
        const fields = r.fields.map((f) => f.replace(/^-i (\S+)$/, 'iifname "$1"').replace(/^-o (\S+)$/, 'oifname "$1"').replace(/\+"$/, '*"'));
        const matches = r.matches.map((m) => `xt match "${/^-m (\S+)/.exec(m)![1]}"`);
        const verdict = /^-([jg]) (\S+)(.*)$/.exec(r.target)!;
        const action = ['ACCEPT', 'DROP', 'RETURN'].includes(verdict[2]!) ? verdict[2]!.toLowerCase() : /^[A-Z]+$/.test(verdict[2]!) ? `xt target "${verdict[2]}"` : `${verdict[1] === 'g' ? 'goto' : 'jump'} ${verdict[2]}`;
        out += `\t\t${[...fields, ...matches, 'counter packets 0 bytes 0', action, `comment "cali:${hashes[i]}"`].join(' ')}${handles ? ` # handle ${++handle}` : ''}\n`;
      });
      out += '\t}\n';
    });
    out += '}\n';
  }
  return { stdout: out, exitCode: 0 };
};

/** Felix's IPv4 ipsets (felix/rules/rule_defs.go), by name. */
function ipsets(rt: Runtime, node: string): [string, string, string[]][] {
  const allPools = pools(rt);
  const hosts = rt.api.store.list('nodes').map((n) => n.metadata.annotations?.['projectcalico.org/IPv4Address']?.split('/')[0]).filter((a): a is string => Boolean(a));
  const me = host(rt, node);
  const sets: [string, string, string[]][] = [
    ['cali40all-hosts-net', 'hash:net', hosts],
    ['cali40all-ipam-pools', 'hash:net', allPools.map((p) => p.cidr)],
    ['cali40masq-ipam-pools', 'hash:net', natOutgoingPools(rt)],
    ['cali40this-host', 'hash:ip', ['127.0.0.0', '127.0.0.1', me.address, ...(['tunl0', 'vxlan.calico'] as const).map((d) => tunnelAddress(rt, node, d)).filter((a): a is string => Boolean(a))]],
  ];
  if (allPools.some((p) => p.vxlanMode !== 'Never')) sets.push(['cali40all-vxlan-net', 'hash:net', hosts.filter((a) => a !== me.address)]);
  return sets.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** `ipset list [NAME]` (ipset 7.11): Felix's sets when it runs on the host, with their members. */
export const ipset: Program = (context) => {
  const args = context.argv.slice(1);
  if (!['list', '-L', '--list'].includes(args[0] ?? '') || args.length > 2) throw new NotSimulated(`ipset ${args.join(' ')} is not simulated`);
  const node = hostNode(context, 'ipset');
  const running = calicoNodeRun(context.runtime, node) !== undefined;
  const sets = running ? ipsets(context.runtime, node) : [];
  const chosen = args[1] ? sets.filter(([name]) => name === args[1]) : sets;
  if (args[1] && chosen.length === 0) return { stderr: `ipset v7.11: The set with the given name does not exist\n`, exitCode: 1 };
  const rules = running ? [...felixChains(context.runtime, node).values()].flatMap((chains) => [...chains.values()].flat()) : [];
  const references = (name: string) => rules.filter((r) => r.matches.some((m) => m.includes(` ${name} `))).length;
  const out = chosen.map(([name, type, members]) => {
    const unique = [...new Set(members)].sort();
    const initval = createHash('sha256').update(`${node}/${name}`).digest('hex').slice(0, 8);
    return [
      `Name: ${name}`, `Type: ${type}`, `Revision: ${type === 'hash:net' ? 7 : 6}`,
      `Header: family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x${initval}`,
      `Size in memory: ${type === 'hash:net' ? 456 + 16 * unique.length : 200 + 16 * unique.length}`,
      `References: ${references(name)}`, `Number of entries: ${unique.length}`, 'Members:', ...unique,
    ].join('\n');
  }).join('\n\n');
  return { stdout: out ? `${out}\n` : '', exitCode: 0 };
};
