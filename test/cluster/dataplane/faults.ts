// The faults people meet on a new cluster's network, as live knobs: what the
// network between the nodes drops (a firewall or a cloud's security group),
// a cloud's source/destination check, and a Felix that stopped programming
// policy. Each changes only what it would change on a real cluster; the
// models that decide BGP sessions, Felix's readiness and reachability read
// them here.

/** What a firewall between nodes can drop, by what it carries. */
export type Traffic =
  /** TCP 179: BGP sessions between BIRDs. */
  | 'bgp'
  /** UDP 4789: VXLAN-encapsulated pod traffic. */
  | 'vxlan'
  /** IP protocol 4: IP-in-IP-encapsulated pod traffic. */
  | 'ipip'
  /** TCP 5473: Felix to Typha. */
  | 'typha';

export interface Drop {
  traffic: Traffic;
  /** The node pairs it is dropped between, either way; undefined: between every two nodes. */
  between?: [string, string][];
}

export interface NetworkFaults {
  drops: Drop[];
  /** The underlay drops packets whose source or destination address is a pod's, not a node's (a cloud's source/destination check, anti-spoofing). */
  sourceDestCheck: boolean;
  /** Nodes whose Felix stopped programming policy: calico-node still Ready, new policy not enforced there. */
  felixStuck: string[];
}

export function noNetworkFaults(): NetworkFaults {
  return { drops: [], sourceDestCheck: false, felixStuck: [] };
}

/** Whether `traffic` from node `a` to node `b` (or back: firewalls here are symmetric) is dropped. Same-node traffic never is. */
export function dropped(faults: NetworkFaults, traffic: Traffic, a: string, b: string): boolean {
  if (a === b) return false;
  return faults.drops.some((d) => d.traffic === traffic && (!d.between || d.between.some(([x, y]) => (x === a && y === b) || (x === b && y === a))));
}

/** `bgp`, `bgp:node-a,node-b`, `vxlan:node-a,node-b;node-a,node-c` — the form of the test cluster's `--drop` flag. */
export function parseDrop(text: string): Drop {
  const [traffic = '', pairs] = text.split(':');
  if (!['bgp', 'vxlan', 'ipip', 'typha'].includes(traffic)) throw new Error(`--drop: unknown traffic "${traffic}" (bgp, vxlan, ipip or typha)`);
  if (pairs === undefined) return { traffic: traffic as Traffic };
  const between = pairs.split(';').map((pair) => {
    const nodes = pair.split(',');
    if (nodes.length !== 2 || nodes.some((n) => !n)) throw new Error(`--drop: "${pair}" is not a pair of node names`);
    return nodes as [string, string];
  });
  return { traffic: traffic as Traffic, between };
}
