// How node status reads, as text and as a document. The text grows with what
// is wrong, not with the cluster: a row per node only for the nodes asked
// about by name (else the ones with problems first, up to LIST_CAP), BIRD's
// peer rows in calicoctl's columns for those nodes (else only the sessions
// that are not Established, capped), then the problems with their cause,
// what they break and the fix.
import type { Palette } from '../../print/color.ts';
import { tabwrite } from '../../print/table.ts';
import { LIST_CAP } from '../status.ts';
import { infoColumn, peerAddress, PEER_TYPES } from './bird.ts';
import type { Finding } from './findings.ts';
import type { BgpFacts, NodeResult, NodeStatusSnapshot, PeerRow } from './node-status.ts';

export interface NodeStatusDoc extends NodeStatusSnapshot {
  findings: Finding[];
}

export interface ViewOptions {
  wide: boolean;
  colors: Palette;
}

export function renderNodeStatus(doc: NodeStatusDoc, options: ViewOptions): string {
  const { colors } = options;
  const out: string[] = [`${bgpLine(doc.bgp)}\n`];
  out.push(`\n${summaryTable(doc, options)}`);
  if (doc.bgp.enabled) {
    if (doc.picked) {
      for (const node of doc.nodes.filter((n) => !n.problem)) out.push(...peerSections(node, options));
    } else {
      const rows = doc.nodes.flatMap((n) => n.peers.filter((p) => p.bgpState !== 'Established').map((p) => ({ node: n.name, peer: p })));
      if (rows.length) {
        const shown = rows.slice(0, LIST_CAP);
        const header = ['NODE', ...PEER_COLUMNS, ...(options.wide ? ['PEER NODE'] : [])];
        out.push(`\nSessions not Established:\n${tabwrite([header, ...shown.map((r) => [r.node, ...peerCells(r.peer, options)])])}${more(rows.length - shown.length, 'more', '--nodes NAME shows every row of a node')}`);
      }
    }
  }
  if (doc.findings.length) {
    const shown = doc.findings.slice(0, LIST_CAP);
    out.push(`\n${colors.bad('Problems:')}\n${shown.map(renderFinding).join('')}${more(doc.findings.length - shown.length, 'more problems', '-o json lists every one')}`);
  }
  const healthy = doc.nodes.filter((n) => n.healthy).length;
  const unhealthy = doc.nodes.length - healthy;
  out.push(`\n${count(doc.nodes.length, 'node')}: ${colors.good(`${healthy} healthy`)}${unhealthy ? `, ${colors.bad(`${unhealthy} with problems`)}` : ''}\n`);
  return out.join('');
}

/** What the nodes peer by, and what a down session would break. */
function bgpLine(bgp: BgpFacts): string {
  const pools = bgp.pools.filter((p) => !p.disabled).map((p) => `${p.cidr} ${p.encapsulation}`).join(', ') || 'none';
  if (!bgp.enabled) return `BGP: Disabled in the Installation (spec.calicoNetwork.bgp): BIRD does not run; Felix only.\nIP pools: ${pools}`;
  const mode = bgp.configurationError
    ? `configuration not readable (${bgp.configurationError}): sessions are judged by BIRD's own list`
    : [
      bgp.nodeToNodeMesh ? 'node-to-node mesh' : 'no node-to-node mesh',
      ...(bgp.routeReflectors.length ? [`route reflectors ${listNames(bgp.routeReflectors)}`] : []),
      `AS ${bgp.asNumber}`,
    ].join(', ');
  const says = (r: 'vxlan' | 'bgp') => (r === 'vxlan' ? 'VXLAN: Felix programs the pod routes' : 'the pod routes come from BGP');
  const { ipv4, ipv6 } = bgp.routing;
  const by = (r: 'vxlan' | 'bgp') => (r === 'vxlan' ? 'Felix, VXLAN' : 'BGP');
  const routes = ipv4 && ipv6 && ipv4 !== ipv6 ? `IPv4 pod routes: ${by(ipv4)}; IPv6 pod routes: ${by(ipv6)}` : says(ipv4 ?? ipv6 ?? 'bgp');
  return `BGP: ${mode}\nIP pools: ${pools} (${routes})`;
}

function summaryTable(doc: NodeStatusDoc, options: ViewOptions): string {
  const { wide, colors } = options;
  const ordered = doc.picked ? doc.nodes : [...doc.nodes.filter((n) => !n.healthy), ...doc.nodes.filter((n) => n.healthy)];
  const shown = doc.picked ? ordered : ordered.slice(0, LIST_CAP);
  const state = (r: { ready: boolean } | undefined) => (r === undefined ? '-' : r.ready ? colors.good('Ready') : colors.bad('NotReady'));
  const bird = (n: NodeResult) => (n.bird6 && !n.bird6.ready ? state(n.bird6) : state(n.bird));
  const header = ['NODE', 'FELIX', ...(doc.bgp.enabled ? ['BIRD', 'PEERS ESTABLISHED'] : []), ...(wide ? ['POD', 'ADDRESS'] : []), 'MESSAGE'];
  const rows = shown.map((n) => [
    n.name,
    state(n.felix),
    ...(doc.bgp.enabled ? [bird(n), n.problem || n.birdErrors.length ? '-' : `${n.sessions.established}/${n.sessions.total}`] : []),
    ...(wide ? [n.pod ?? '<none>', [n.addresses.ipv4, n.addresses.ipv6].filter(Boolean).join(',') || '<none>'] : []),
    messageOf(n, doc.bgp.enabled),
  ]);
  const hidden = ordered.length - shown.length;
  const hiddenHealthy = ordered.slice(shown.length).filter((n) => n.healthy).length;
  const note = hiddenHealthy === hidden ? 'all healthy' : `${hiddenHealthy} healthy`;
  return `${tabwrite([header, ...rows])}${hidden > 0 ? `… and ${hidden} more nodes, ${note} (--nodes NAME,… or -o json shows them)\n` : ''}`;
}

/** What is wrong with a node, in a line: the first thing an admin would look at. */
function messageOf(node: NodeResult, bgp: boolean): string {
  if (node.problem) return node.problem.message.replace(/^running \S+ in \S+ \(container [^)]*\): /, '');
  if (node.felix && !node.felix.ready) return node.felix.message;
  if (bgp) {
    const notReady = [node.bird, node.bird6].find((r) => r && !r.ready);
    if (notReady) return notReady.message;
    if (node.birdErrors.length) return node.birdErrors[0]!;
    const down = node.peers.filter((p) => p.bgpState !== 'Established');
    if (down.length) return `not Established: ${down.slice(0, 3).map((p) => `${peerAddress(p)} (${p.bgpState})`).join(', ')}${down.length > 3 ? ` and ${down.length - 3} more` : ''}`;
    if (node.missing.length) return `no session in BIRD with ${node.missing.slice(0, 3).map((p) => peerAddress(p)).join(', ')}${node.missing.length > 3 ? ` and ${node.missing.length - 3} more` : ''}`;
    const unexpected = node.peers.filter((p) => !p.expected);
    if (unexpected.length) return `unexpected session with ${unexpected.map((p) => peerAddress(p)).join(', ')}`;
  }
  return '';
}

const PEER_COLUMNS = ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'];

function peerCells(peer: PeerRow, options: ViewOptions): string[] {
  const info = infoColumn(peer);
  return [peerAddress(peer), PEER_TYPES[peer.kind], peer.state, peer.since, peer.bgpState === 'Established' ? info : options.colors.bad(info), ...(options.wide ? [peer.peerNode ?? '<none>'] : [])];
}

/** calicoctl's tables for one node: IPv4, then IPv6 when BIRD6 was asked. */
function peerSections(node: NodeResult, options: ViewOptions): string[] {
  const families = node.bird6 || node.peers.some((p) => p.family === 6) ? [4, 6] as const : [4] as const;
  return families.map((family) => {
    const peers = node.peers.filter((p) => p.family === family);
    const title = `\nIPv${family} BGP peers of ${node.name}:\n`;
    if (peers.length === 0) return `${title}No IPv${family} peers found.\n`;
    const header = [...PEER_COLUMNS, ...(options.wide ? ['PEER NODE'] : [])];
    return `${title}${tabwrite([header, ...peers.map((p) => peerCells(p, options))])}`;
  });
}

function renderFinding(finding: Finding): string {
  const lines = [`- ${finding.message}\n`];
  if (finding.cause) lines.push(`    cause:  ${finding.cause}\n`);
  if (finding.impact) lines.push(`    breaks: ${finding.impact}\n`);
  if (finding.fix) lines.push(`    fix:    ${finding.fix}\n`);
  return lines.join('');
}

function more(hidden: number, what: string, how: string): string {
  return hidden > 0 ? `… and ${hidden} ${what} (${how})\n` : '';
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function listNames(names: string[]): string {
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}

/** The NodeStatus document for -o json|yaml: every node, peer and finding, uncapped. */
export function machineNodeStatus(doc: NodeStatusDoc): object {
  const healthy = doc.nodes.filter((n) => n.healthy).length;
  return {
    bgp: doc.bgp,
    nodes: doc.nodes.map((n) => ({
      name: n.name,
      ...(n.pod ? { pod: n.pod } : {}),
      addresses: n.addresses,
      healthy: n.healthy,
      ...(n.problem ? { problem: n.problem } : {}),
      ...(n.felix ? { felix: n.felix } : {}),
      ...(n.bird ? { bird: n.bird } : {}),
      ...(n.bird6 ? { bird6: n.bird6 } : {}),
      ...(n.problem ? {} : { sessions: n.sessions }),
      peers: n.peers.map((p) => ({ family: p.family, name: p.name, peerAddress: p.address, ...(p.port ? { port: p.port } : {}), peerType: PEER_TYPES[p.kind], state: p.state, since: p.since, bgpState: p.bgpState, info: p.info, ...(p.peerNode ? { peerNode: p.peerNode } : {}), expected: p.expected })),
      ...(n.missing.length ? { missing: n.missing } : {}),
      ...(n.birdErrors.length ? { birdErrors: n.birdErrors } : {}),
    })),
    findings: doc.findings,
    summary: {
      nodes: doc.nodes.length,
      healthy,
      unhealthy: doc.nodes.length - healthy,
      sessions: doc.nodes.reduce((s, n) => ({ established: s.established + n.sessions.established, total: s.total + n.sessions.total }), { established: 0, total: 0 }),
    },
  };
}
