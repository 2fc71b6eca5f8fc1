import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import { UsageError } from '../cli/errors.ts';
import type { NodeStatusDoc } from '../calico/bgp/view.ts';
import { colorEnabled, palette } from '../print/color.ts';
import { parseOutput, Report } from '../print/report.ts';

export class NodeStatusCommand extends ClusterCommand {
  static override paths = [['node', 'status']];

  static override usage = Command.Usage({
    description: "Felix, BIRD and the BGP sessions of every node, as calicoctl node status shows one",
    details: `
      Asks calico-node on each node, through pods/exec in its calico-node container, what \`calicoctl node status\`
      shows on the host itself: Felix's and BIRD's readiness (\`calico-node -felix-ready\`, \`-bird-ready\`, with their
      messages) and BIRD's BGP peers (\`birdcl show protocols\`, and birdcl6 when an IPv6 pool exists), read by
      calicoctl's rules; and sets them against the sessions the BGP configuration asks for (node-to-node mesh, route
      reflectors, global and node-specific BGPPeers). Prints a row per node (NODE, FELIX, BIRD, PEERS ESTABLISHED,
      MESSAGE), BIRD's peer rows in calicoctl's columns for the nodes named with --nodes or picked with -l (for the
      others, only the sessions that are not Established), then each problem with what it usually means, what it
      breaks and the fix: a session that is down is named from both ends. Lists stop after 10 rows on big clusters.
      With BGP disabled in the Installation, Felix only. A node without a calico-node pod, a pod not running, a
      refused exec or a kubelet that does not answer is a finding. Needs "get" and "create" on pods/exec in
      calico-system. Exit 0 when every node is healthy, 1 otherwise, 124 when --timeout runs out.
    `,
    examples: [
      ['Every node', '$0 node status'],
      ['BIRD\'s peers of two nodes, row by row', '$0 node status --nodes kubernetes-worker-01,kubernetes-worker-02'],
      ['The control plane', '$0 node status -l node-role.kubernetes.io/control-plane'],
      ['As JSON, every node and peer', '$0 node status -o json'],
    ],
  });

  nodes = Option.String('--nodes', { description: 'Only these nodes (names, comma-separated): their every peer row is shown' });
  selector = Option.String('-l,--selector', { description: 'Only the nodes with these labels (a label selector, as kubectl get -l)' });
  output = Option.String('-o,--output', { description: 'Output format: wide, json or yaml' });
  timeout = Option.String('--timeout', '5m', { description: 'How long to ask in all before giving up (exit 124); each exec has --request-timeout' });

  override async execute(): Promise<number> {
    const format = parseOutput(this.output, ['wide', 'json', 'yaml']);
    const { parseNodePick } = await import('../calico/node-pick.ts');
    const pick = parseNodePick(this.nodes, this.selector);
    const timeoutMs = parseDuration(this.timeout, '--timeout');
    if (timeoutMs <= 0) throw new UsageError(`invalid value "${this.timeout}" for --timeout: expected a duration above zero`);
    const machine = format === 'json' || format === 'yaml';
    const terminal = (this.context.stdout as { isTTY?: boolean }).isTTY === true;
    const colors = palette(!machine && colorEnabled(this.color, this.context.env, terminal));
    const kube = await this.kube();
    const [{ readNodeStatus }, { nodeStatusFindings }, { renderNodeStatus, machineNodeStatus }, { interruptible }] = await Promise.all([
      import('../calico/bgp/node-status.ts'), import('../calico/bgp/findings.ts'), import('../calico/bgp/view.ts'), import('../cli/interrupt.ts'),
    ]);
    const progress = terminal && !machine ? await this.progress() : undefined;
    const run = interruptible(timeoutMs, 'node status');
    try {
      const snapshot = await readNodeStatus(kube, { pick, concurrency: 32, execTimeoutMs: this.requestTimeoutMs(), signal: run.signal, onProgress: progress?.update });
      progress?.finish();
      const doc: NodeStatusDoc = { ...snapshot, findings: nodeStatusFindings(snapshot) };
      const report = new Report<NodeStatusDoc>('NodeStatus', format, this.context);
      report.setAll(doc);
      await report.finish((facts) => renderNodeStatus(facts as NodeStatusDoc, { wide: format === 'wide', colors }), (facts) => machineNodeStatus(facts as NodeStatusDoc));
      if (run.signal.aborted) return (run.signal.reason as { exitCode?: number }).exitCode ?? 1;
      return doc.nodes.every((n) => n.healthy) && doc.findings.length === 0 ? 0 : 1;
    } finally {
      progress?.finish();
      run.dispose();
    }
  }

  /** On a terminal, a line that says how far the asking has got, erased before the report. */
  private async progress(): Promise<{ update: (done: number, total: number, unhealthy: number) => void; finish: () => void }> {
    const { LiveBlock } = await import('../print/progress.ts');
    let line = '';
    let finished = false;
    const block = new LiveBlock(this.context.stdout, () => (finished ? [] : [line]));
    return {
      update: (done, total, unhealthy) => {
        line = `Asking calico-node on ${total} nodes: ${done} answered${unhealthy ? `, ${unhealthy} with problems` : ''}`;
        block.update();
      },
      finish: () => {
        if (finished) return;
        finished = true;
        block.finish();
      },
    };
  }
}
