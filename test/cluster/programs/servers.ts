// What a container's main process listens on, read from its image and its
// command line as the real program reads them; and what every host runs
// outside pods (the kubelet). Probes (reach.ts) ask this table whether a
// port answers or is refused. An image the table does not describe fails
// loudly (NotSimulated): the model never guesses what a process serves.
import type { KubeObject } from '../types.ts';
import { NotSimulated } from './program.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** What answers on a port: the protocol spoken there decides what a client gets back. */
export type Server =
  /** agnhost serve-hostname --http: every path answers the hostname. */
  | 'serve-hostname-http'
  /** agnhost serve-hostname --tcp / --udp: the hostname, raw. */
  | 'serve-hostname-raw'
  /** agnhost netexec's HTTP server (/hostname, /echo, /clientip, /shell …). */
  | 'netexec-http'
  /** agnhost netexec's UDP server (`hostname`, `echo MSG`, `clientip`). */
  | 'netexec-udp'
  /** CoreDNS on 53. */
  | 'dns'
  /** The nodes' upstream resolver (outside the cluster). */
  | 'dns-upstream'
  /** Anything else that accepts connections; what it speaks is not simulated. */
  | 'other';

export interface Listener {
  port: number;
  protocol: Protocol;
  server: Server;
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
}

/** The repository an image reference names, whatever its registry, tag or digest. */
function repository(image: string): string {
  return image.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
}

function is(image: string, path: string): boolean {
  const repo = repository(image);
  return repo === path || repo.endsWith(`/${path}`);
}

const TCP = (port: number, server: Server = 'other'): Listener => ({ port, protocol: 'TCP', server });

/**
 * Fixed listeners of the images of a kubeadm cluster with Calico (their
 * default flags, all addresses); those that listen on localhost only
 * (kube-proxy's 10249, Felix's 9099 …) are left out: no probe from elsewhere reaches them.
 */
const FIXED: [string, Listener[]][] = [
  ['coredns/coredns', [{ port: 53, protocol: 'UDP', server: 'dns' }, TCP(53, 'dns'), TCP(8080), TCP(8181), TCP(9153)]],
  ['kube-apiserver', [TCP(6443)]],
  ['etcd', [TCP(2379), TCP(2380)]],
  ['kube-controller-manager', [TCP(10257)]],
  ['kube-scheduler', [TCP(10259)]],
  ['kube-proxy', [TCP(10256)]],
  // BIRD's BGP listener; Felix's health port is localhost-only.
  ['calico/node', [TCP(179)]],
  ['calico/typha', [TCP(5473)]],
  ['tigera/operator', []],
];

/** What a node answers on outside any pod: the kubelet's API (10250); its healthz (10248) is localhost-only. */
export const HOST_LISTENERS: Listener[] = [TCP(10250)];

/** The listeners of one container, from its image and command line. */
export function containerListeners(container: Container): Listener[] {
  if (is(container.image, 'e2e-test-images/agnhost')) return agnhostListeners(container);
  const fixed = FIXED.find(([path]) => is(container.image, path));
  if (fixed) return fixed[1];
  throw new NotSimulated(`what image "${container.image}" listens on is not simulated (test/cluster/programs/servers.ts)`);
}

/** The listeners of every container of a pod. */
export function podListeners(pod: KubeObject): Listener[] {
  const containers = (pod.spec as { containers?: Container[] } | undefined)?.containers ?? [];
  return containers.flatMap(containerListeners);
}

/**
 * agnhost's argv is ENTRYPOINT ["/agnhost"] CMD ["pause"] unless the pod
 * overrides them: the subcommand and its flags as cobra/pflag parse them.
 */
function agnhostListeners(container: Container): Listener[] {
  const argv = container.command ? [...container.command.slice(1), ...(container.args ?? [])] : (container.args ?? ['pause']);
  const [subcommand, ...rest] = argv;
  const flags = parseFlags(rest, subcommand ?? '');
  switch (subcommand) {
    case 'pause':
      return [];
    case 'serve-hostname': {
      const port = intFlag(flags, 'port', 9376);
      const http = boolFlag(flags, 'http', true);
      const tcp = boolFlag(flags, 'tcp', false);
      const udp = boolFlag(flags, 'udp', false);
      // serve-hostname exits at start ("Can't server TCP/UDP mode and HTTP mode at the same time").
      if (http && (tcp || udp)) return [];
      return [
        ...(http ? [TCP(port, 'serve-hostname-http')] : []),
        ...(tcp ? [TCP(port, 'serve-hostname-raw')] : []),
        ...(udp ? [{ port, protocol: 'UDP' as const, server: 'serve-hostname-raw' as const }] : []),
      ];
    }
    case 'netexec': {
      const udpPort = intFlag(flags, 'udp-port', 8081);
      const sctpPort = intFlag(flags, 'sctp-port', -1);
      return [
        TCP(intFlag(flags, 'http-port', 8080), 'netexec-http'),
        ...(udpPort === -1 ? [] : [{ port: udpPort, protocol: 'UDP' as const, server: 'netexec-udp' as const }]),
        ...(sctpPort === -1 ? [] : [{ port: sctpPort, protocol: 'SCTP' as const, server: 'other' as const }]),
      ];
    }
  }
  throw new NotSimulated(`agnhost ${argv.join(' ')}: what this subcommand listens on is not simulated`);
}

/** pflag's long flags: `--name=value`, `--name value`, and bare `--name` for booleans. */
export function parseFlags(args: string[], command: string, booleans: string[] = ['http', 'tcp', 'udp', 'close']): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const match = /^--?([^=]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new NotSimulated(`agnhost ${command}: positional argument "${arg}" is not simulated`);
    const [, name = '', value] = match;
    if (value !== undefined) flags.set(name, value);
    else if (booleans.includes(name)) flags.set(name, 'true');
    else flags.set(name, args[++i] ?? '');
  }
  return flags;
}

function intFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const text = flags.get(name);
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text)) throw new NotSimulated(`--${name}=${text}: agnhost exits on an invalid number; not simulated`);
  return Number(text);
}

function boolFlag(flags: Map<string, string>, name: string, fallback: boolean): boolean {
  const text = flags.get(name);
  return text === undefined ? fallback : text === 'true' || text === '1' || text === 't';
}
