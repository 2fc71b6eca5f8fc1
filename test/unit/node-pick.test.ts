// Picking nodes, one way for every command (node status, diags, connectivity):
// as objects for connectivity, which reads their taints and addresses — the
// selector sent to the API server, every page read, named nodes checked among
// the matches with the words node status uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNodePick, pickNodes } from '../../src/calico/node-pick.ts';
import { KubeClient, type ClientSettings, type RawResponse, type RequestOptions } from '../../src/kube/client.ts';
import { CliError } from '../../src/cli/errors.ts';

interface Node {
  metadata: { name: string; labels: Record<string, string> };
}

/** An API server with `count` nodes (every third in zone a), answering node lists 500 a page, honouring `zone=a`. */
class NodesKube extends KubeClient {
  readonly asked: string[] = [];
  readonly nodes: Node[];
  constructor(count: number) {
    super({ server: 'https://nodes.invalid', contextName: 'nodes', userName: 'nodes' } as ClientSettings);
    this.nodes = Array.from({ length: count }, (_, i) => ({ metadata: { name: `node-${String(i).padStart(4, '0')}`, labels: { zone: i % 3 === 0 ? 'a' : 'b' } } }));
  }
  override async request(path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const query = (options.query ?? {}) as Record<string, string | number | undefined>;
    this.asked.push(`${path}?labelSelector=${query.labelSelector ?? ''}&continue=${query.continue ?? ''}`);
    const matching = this.nodes.filter((n) => query.labelSelector === undefined || n.metadata.labels.zone === String(query.labelSelector).split('=')[1]);
    const from = Number(query.continue ?? 0);
    const items = matching.slice(from, from + Number(query.limit));
    const next = from + items.length < matching.length ? String(from + items.length) : undefined;
    return { statusCode: 200, headers: {}, body: Buffer.from(JSON.stringify({ items, metadata: next ? { continue: next } : {} })) };
  }
}

const names = (nodes: Node[]) => nodes.map((n) => n.metadata.name);

test('every node when nothing is picked, every page of 2,000', async () => {
  const kube = new NodesKube(2000);
  const all = await pickNodes<Node>(kube, parseNodePick(undefined, undefined));
  assert.equal(all.length, 2000);
  assert.equal(kube.asked.length, 4, 'four pages of 500');
});

test('-l is evaluated by the API server; --nodes are checked among its matches and kept in the order named', async () => {
  const kube = new NodesKube(10);
  assert.deepEqual(names(await pickNodes<Node>(kube, parseNodePick(undefined, 'zone=a'))), ['node-0000', 'node-0003', 'node-0006', 'node-0009']);
  assert.match(kube.asked[0]!, /labelSelector=zone=a&/);
  assert.deepEqual(names(await pickNodes<Node>(kube, parseNodePick('node-0006,node-0000,node-0006', 'zone=a'))), ['node-0006', 'node-0000']);
  await assert.rejects(pickNodes<Node>(kube, parseNodePick('node-0001,node-0003,node-0042', 'zone=a')), (e: unknown) => e instanceof CliError && e.message === '--nodes: nodes "node-0001", "node-0042" not found among the nodes matching -l zone=a');
  await assert.rejects(pickNodes<Node>(kube, parseNodePick('node-0042', undefined)), (e: unknown) => e instanceof CliError && e.message === '--nodes: node "node-0042" not found');
  await assert.rejects(pickNodes<Node>(kube, parseNodePick(undefined, 'zone=c')), (e: unknown) => e instanceof CliError && e.message === 'no node matches -l zone=c');
});
