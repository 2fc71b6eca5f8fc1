// Cluster DNS as the probes in pods meet it: the resolv.conf the kubelet
// writes for a pod, and a DNS exchange with the server it names — carried
// by the reachability model (UDP or TCP 53, so the data plane and policy
// apply), answered by CoreDNS's `kubernetes` plugin (kubeadm's Corefile:
// `kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure … ttl 30 }`,
// `forward . /etc/resolv.conf`) while a CoreDNS pod is Running and Ready
// behind the kube-dns Service. Names outside cluster.local go to the nodes'
// upstream resolver, which in this closed test network knows no names: it
// answers NXDOMAIN with the root zone's SOA, as a recursive resolver does for
// a top-level domain that does not exist (`kubernetes.default.`).
import type { Runtime } from '../controllers/runtime.ts';
import { formatV4, parseV4 } from '../controllers/ipam.ts';
import { NotSimulated } from '../programs/program.ts';
import type { KubeObject } from '../types.ts';
import { reach, type OutsideHost, type Source } from './reach.ts';

/** The nodes' upstream resolver (VirtualBox NAT's, where the guide's Vagrant nodes get theirs). */
export const UPSTREAM_RESOLVER = '10.0.2.3';
/** The upstream resolver as a host outside the cluster, serving DNS on 53. */
export const UPSTREAM_HOST: OutsideHost = { ip: UPSTREAM_RESOLVER, listeners: [{ port: 53, protocol: 'UDP', server: 'dns-upstream' }, { port: 53, protocol: 'TCP', server: 'dns-upstream' }] };
export const CLUSTER_DOMAIN = 'cluster.local';
/** The kubeadm Corefile's `ttl 30`; CoreDNS's `cache 30` caps forwarded answers the same. */
const TTL = 30;

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  ndots: number;
}

/** kubelet's clusterDNS as kubeadm sets it: the tenth address of the serviceSubnet. */
export function clusterDNS(rt: Runtime): string {
  const [base] = parseV4(rt.api.serviceCIDRs[0] ?? '10.96.0.0/12');
  return formatV4(base + 10);
}

/**
 * The kubelet's DNS configurer: ClusterFirst (and ClusterFirstWithHostNet)
 * point at cluster DNS with the search path of the pod's namespace and
 * ndots:5; a hostNetwork pod with ClusterFirst, and Default, get the node's
 * resolv.conf; None only what spec.dnsConfig gives. dnsConfig is merged last.
 */
export function resolvConf(rt: Runtime, pod: KubeObject): ResolvConf {
  const spec = pod.spec as { dnsPolicy?: string; hostNetwork?: boolean; dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] } };
  const policy = spec.dnsPolicy ?? 'ClusterFirst';
  const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !spec.hostNetwork);
  const ns = pod.metadata.namespace ?? 'default';
  const base: ResolvConf = policy === 'None'
    ? { nameservers: [], search: [], ndots: 1 }
    : cluster
      ? { nameservers: [clusterDNS(rt)], search: [`${ns}.svc.${CLUSTER_DOMAIN}`, `svc.${CLUSTER_DOMAIN}`, CLUSTER_DOMAIN], ndots: 5 }
      : { nameservers: [UPSTREAM_RESOLVER], search: [], ndots: 1 };
  const extra = spec.dnsConfig;
  const ndots = extra?.options?.find((o) => o.name === 'ndots')?.value;
  return {
    nameservers: [...base.nameservers, ...(extra?.nameservers ?? [])].slice(0, 3),
    search: [...base.search, ...(extra?.searches ?? [])],
    ndots: ndots === undefined ? base.ndots : Number(ndots),
  };
}

/** /etc/resolv.conf as the kubelet writes it. */
export function resolvConfText(conf: ResolvConf): string {
  return [
    ...(conf.search.length ? [`search ${conf.search.join(' ')}`] : []),
    ...conf.nameservers.map((n) => `nameserver ${n}`),
    ...(conf.ndots !== 1 ? [`options ndots:${conf.ndots}`] : []),
    '',
  ].join('\n');
}

export type QType = 'A' | 'AAAA';

export interface ResourceRecord {
  name: string;
  ttl: number;
  type: 'A' | 'AAAA' | 'SOA';
  data: string;
}

export interface DnsMessage {
  rcode: 'NOERROR' | 'NXDOMAIN';
  /** Authoritative answer (CoreDNS for its zones), recursion available (the forwarded ones). */
  aa: boolean;
  ra: boolean;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
}

export type Exchange =
  | { outcome: 'answer'; message: DnsMessage }
  | { outcome: 'timeout' | 'refused'; why: string };

/** One query to `server` from `from` (`name` fully qualified, with the trailing dot). */
export function exchange(rt: Runtime, from: Source, server: string, name: string, qtype: QType, protocol: 'UDP' | 'TCP' = 'UDP'): Exchange {
  const path = reach(rt, from, server, 53, protocol);
  if (path.outcome !== 'delivered') return path;
  if (path.listener.server === 'dns') return { outcome: 'answer', message: coreDNS(rt, name.toLowerCase(), qtype) };
  if (path.listener.server === 'dns-upstream') return { outcome: 'answer', message: upstream(rt, name) };
  throw new NotSimulated(`what the DNS server at ${server} (${path.to.ip}) answers is not simulated`);
}

function soa(rt: Runtime): ResourceRecord {
  const serial = Math.floor(rt.clock.now().getTime() / 1000);
  return { name: `${CLUSTER_DOMAIN}.`, ttl: TTL, type: 'SOA', data: `ns.dns.${CLUSTER_DOMAIN}. hostmaster.${CLUSTER_DOMAIN}. ${serial} 7200 1800 86400 ${TTL}` };
}

function upstream(rt: Runtime, name: string): DnsMessage {
  const now = rt.clock.now();
  const serial = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}00`;
  if (name === '.') throw new NotSimulated('a query for the root is not simulated');
  return { rcode: 'NXDOMAIN', aa: false, ra: true, answer: [], authority: [{ name: '.', ttl: TTL, type: 'SOA', data: `a.root-servers.net. nstld.verisign-grs.com. ${serial} 1800 900 604800 86400` }] };
}

/** The kubernetes plugin's answer for a name in cluster.local; the rest is forwarded. */
function coreDNS(rt: Runtime, name: string, qtype: QType): DnsMessage {
  const zone = `.${CLUSTER_DOMAIN}.`;
  if (name !== `${CLUSTER_DOMAIN}.` && !name.endsWith(zone)) {
    if (name.endsWith('.in-addr.arpa.') || name.endsWith('.ip6.arpa.')) throw new NotSimulated('reverse lookups are not simulated');
    return upstream(rt, name);
  }
  const labels = name === `${CLUSTER_DOMAIN}.` ? [] : name.slice(0, -zone.length).split('.');
  const noData = (): DnsMessage => ({ rcode: 'NOERROR', aa: true, ra: false, answer: [], authority: [soa(rt)] });
  const nxdomain = (): DnsMessage => ({ rcode: 'NXDOMAIN', aa: true, ra: false, answer: [], authority: [soa(rt)] });
  const records = (ips: string[]): DnsMessage => {
    const wanted = ips.filter((ip) => (qtype === 'A') === ip.includes('.'));
    if (wanted.length === 0) return noData();
    return { rcode: 'NOERROR', aa: true, ra: false, answer: wanted.map((data) => ({ name, ttl: TTL, type: qtype, data })), authority: [] };
  };
  const kind = labels.at(-1);
  if (labels.length === 0) return noData();
  if (kind === 'svc') {
    const [first, second, third] = labels.slice(0, -1).reverse();
    // ns.svc, svc.ns.svc, endpoint.svc.ns.svc
    if (first === undefined) return noData();
    if (!rt.api.store.get('namespaces', undefined, first)) return nxdomain();
    if (second === undefined) return noData();
    const service = rt.api.store.get('services', first, second);
    if (!service || labels.length > 4) return nxdomain();
    const spec = service.spec as { type?: string; clusterIP?: string; clusterIPs?: string[] };
    if (spec.type === 'ExternalName') throw new NotSimulated('ExternalName Services (CNAME answers) are not simulated');
    if (third !== undefined) {
      // <hostname>.<service>: a ready endpoint that names itself so (a pod's hostname and subdomain).
      const addresses = readyEndpoints(rt, service).filter((e) => e.hostname === third).flatMap((e) => e.addresses);
      return addresses.length ? records(addresses) : nxdomain();
    }
    if (spec.clusterIP !== 'None') return records(spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []));
    const addresses = readyEndpoints(rt, service).flatMap((e) => e.addresses);
    return addresses.length ? records(addresses) : nxdomain();
  }
  if (kind === 'pod' && labels.length === 3) {
    const ip = labels[0]!.replaceAll('-', '.');
    if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return records([ip]);
    return nxdomain();
  }
  return nxdomain();
}

/** A Service's ready endpoints, from its EndpointSlices. */
function readyEndpoints(rt: Runtime, service: KubeObject): { addresses: string[]; hostname?: string }[] {
  return rt.api.store.list('endpointslices.discovery.k8s.io', service.metadata.namespace)
    .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === service.metadata.name)
    .flatMap((s) => ((s.endpoints as { addresses: string[]; hostname?: string; conditions?: { ready?: boolean } }[] | null) ?? []).filter((e) => e.conditions?.ready !== false));
}

/** The names a stub resolver tries for `name`, in order (glibc, musl, Go and BIND's search list rules agree). */
export function searchList(conf: ResolvConf, name: string): string[] {
  if (name.endsWith('.')) return [name];
  const dots = name.split('.').length - 1;
  const suffixed = conf.search.map((s) => `${name}.${s}.`);
  return dots >= conf.ndots ? [`${name}.`, ...suffixed] : [...suffixed, `${name}.`];
}
