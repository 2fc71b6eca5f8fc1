// BIRD's `show protocols`, read by the rules calicoctl reads it with
// (calicoctl/commands/node/status.go scanBIRDPeers and unmarshalBIRD; the
// same rules in node/pkg/status/populators/peers.go):
// - raw reply codes, as on the control socket or with `birdcl -v`: `0001`
//   hello, `2002` the headings (which must be name proto table state since
//   info), `1002` the first row, a leading space each further row, `0000` the
//   end; any other line is an error;
// - a row is a BGP peer when it has at least 6 fields, the second is `BGP`
//   and the name is `(Global|Node|Mesh)_<address>`, the address's `_` read as
//   `.` (IPv4) or `:` (IPv6); state is field 4, since field 5, the BGP state
//   field 6, the rest the info.
// Two additions: birdcl without `-v` strips the codes (the hello is then
// `BIRD … ready.` and the headings a plain line), which is what running
// `birdcl … show protocols` in the pod gives; and confd names a peer with a
// non-default port `<name>_port_<port>` (confd bgp_processor.go), which
// calicoctl would print as an address ending `.port.179`: the port is kept
// apart here.

export const BIRD_HEADINGS = ['name', 'proto', 'table', 'state', 'since', 'info'];

/** calicoctl's PEER TYPE for each name prefix. */
export const PEER_TYPES = { Mesh: 'node-to-node mesh', Global: 'global', Node: 'node specific' } as const;
export type PeerKind = keyof typeof PEER_TYPES;

export interface BirdPeer {
  /** BIRD's protocol name: `Mesh_192_168_56_12`, `Node_10_0_0_1_port_1790`. */
  name: string;
  kind: PeerKind;
  /** The peer's address, as calicoctl reads it from the name. */
  address: string;
  /** The port of a peer that is not on BGP's 179, from the name's `_port_` suffix. */
  port?: number;
  /** BIRD's protocol state: `up`, `start`, `down`… */
  state: string;
  since: string;
  /** The BGP state: Established, Active, Connect, Passive, Idle… */
  bgpState: string;
  /** What BIRD adds: the last error (`Socket: Connection refused`, `BGP Error: Hold timer expired`). */
  info: string;
}

export class BirdOutputError extends Error {}

const PEER_NAME = /^(Global|Node|Mesh)_(.+)$/;
const REPLY_CODE = /^\d{4}[ -]/;

/** The BGP peers in `show protocols` output of BIRD (family 4) or BIRD6 (family 6). */
export function parseShowProtocols(output: string, family: 4 | 6): BirdPeer[] {
  const lines = output.split('\n').map((l) => l.replace(/\r$/, ''));
  const coded = REPLY_CODE.test(lines.find((l) => l.trim() !== '') ?? '');
  const peers: BirdPeer[] = [];
  const add = (row: string) => {
    const peer = parsePeerRow(row, family);
    if (peer) peers.push(peer);
  };
  for (const line of lines) {
    if (coded) {
      if (line.startsWith('0000')) break;
      if (line.startsWith('0001')) continue;
      if (line.startsWith('2002')) checkHeadings(line.slice(5));
      else if (line.startsWith('1002')) add(line.slice(5));
      else if (line.startsWith(' ')) add(line.slice(1));
      else if (line !== '') throw new BirdOutputError(`unexpected output line from BIRD: ${line}`);
      continue;
    }
    if (line.trim() === '' || /^BIRD .* ready\.$/.test(line)) continue;
    if (line.split(/\s+/)[0] === 'name') checkHeadings(line);
    else add(line);
  }
  return peers;
}

function checkHeadings(text: string): void {
  const headings = text.trim().split(/\s+/);
  if (headings.join(' ') !== BIRD_HEADINGS.join(' ')) throw new BirdOutputError(`unknown BIRD table output format: ${text.trim()}`);
}

/** unmarshalBIRD: one row of the protocols table, or undefined when it is not a Calico BGP peer. */
export function parsePeerRow(row: string, family: 4 | 6): BirdPeer | undefined {
  const fields = row.trim().split(/\s+/);
  if (fields.length < 6 || fields[1] !== 'BGP') return undefined;
  const match = PEER_NAME.exec(fields[0]!);
  if (!match) return undefined;
  const port = /^(.*)_port_(\d+)$/.exec(match[2]!);
  const address = (port ? port[1]! : match[2]!).replaceAll('_', family === 4 ? '.' : ':');
  return {
    name: fields[0]!,
    kind: match[1] as PeerKind,
    address,
    ...(port ? { port: Number(port[2]) } : {}),
    state: fields[3]!,
    since: fields[4]!,
    bgpState: fields[5]!,
    info: fields.slice(6).join(' '),
  };
}

/** calicoctl's INFO column: the BGP state and what follows it. */
export function infoColumn(peer: Pick<BirdPeer, 'bgpState' | 'info'>): string {
  return peer.info ? `${peer.bgpState} ${peer.info}` : peer.bgpState;
}

/** An address with its port when it has one: `10.0.0.1:1790`, `[fd00::1]:1790`. */
export function peerAddress(peer: { address: string; port?: number }): string {
  if (peer.port === undefined) return peer.address;
  return peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
}
