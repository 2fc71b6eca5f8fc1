import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import { UsageError } from '../cli/errors.ts';
import type { WaitTarget } from '../calico/rollout.ts';

const TARGETS: WaitTarget[] = ['all', 'operator', 'calico', 'nodes'];

export class WaitCommand extends ClusterCommand {
  static override paths = [['wait']];

  static override usage = Command.Usage({
    description: 'Wait until Calico runs on every node',
    details: `
      What the install guide does with \`watch kubectl get pods -n calico-system\` and \`kubectl get nodes\`, driven by
      watch events instead of polling, so it returns within a moment of the cluster becoming ready. Ready means: the
      tigera-operator pod Running and Ready; every calico-system (and calico-apiserver) pod Running and Ready and every
      Calico DaemonSet rolled out on every node; every TigeraStatus Available and not Degraded; every node Ready.
      \`--for\` narrows it to the operator, Calico or the nodes. Progress reads the same on 3 nodes and on 2,000: on a
      terminal a live block redrawn in place (a row per workload, the nodes, each TigeraStatus, then the problems),
      in a pipe a line when a count moves by a tenth or a TigeraStatus changes; then the status summary. On a
      timeout it exits 124 and says what is not ready and why, grouped by workload and reason.
    `,
    examples: [
      ['Wait for the whole install', '$0 wait'],
      ['Wait at most 5 minutes for the nodes', '$0 wait --for nodes --timeout 5m'],
    ],
  });

  timeout = Option.String('--timeout', '10m', { description: 'How long to wait before giving up (exit 124)' });
  target = Option.String('--for', 'all', { description: 'What to wait for: all, operator, calico or nodes' });

  override async execute(): Promise<number> {
    if (!TARGETS.includes(this.target as WaitTarget)) throw new UsageError(`invalid --for "${this.target}": expected one of ${TARGETS.join(', ')}`);
    const timeoutMs = parseDuration(this.timeout, '--timeout');
    const kube = await this.kube();
    const { waitAndReport, outputFor } = await import('../calico/wait.ts');
    return waitAndReport(kube, this.target as WaitTarget, timeoutMs, outputFor(this.context.stdout, this.color, this.context.env));
  }
}
