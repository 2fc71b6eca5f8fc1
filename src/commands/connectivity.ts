import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import { UsageError } from '../cli/errors.ts';
import { DEFAULT_IMAGE, DEFAULT_MAX_PAIRS, DEFAULT_NAMESPACE } from '../calico/connectivity/defaults.ts';
import { SCENARIOS } from '../calico/connectivity/scenarios.ts';
import type { ConnectivityDoc } from '../calico/connectivity/report.ts';
import { colorEnabled, palette } from '../print/color.ts';
import { Report } from '../print/report.ts';

const FORMATS = ['table', 'json', 'yaml', 'junit'] as const;

export class ConnectivityCommand extends ClusterCommand {
  static override paths = [['connectivity']];

  static override usage = Command.Usage({
    description: 'Test that pods, Services, DNS, hosts and NetworkPolicy work, and say why not',
    details: `
      Deploys its own workload into a namespace of its own (--namespace): agnhost pods on every selected node (a
      DaemonSet serving serve-hostname, one of idle clients), a ClusterIP Service in front of them and hostNetwork
      pods on two nodes; probes through pods/exec; diagnoses the failures with what the cluster says (IP pools and
      their encapsulation, the nodes' subnets, calico-node's readiness, CoreDNS, and the BGP sessions BIRD reports in
      calico-node on the nodes whose probes failed, as node status reads them); and removes
      everything at the end, waiting until the namespace is gone (unless --keep). Ctrl-C or --timeout clean up as
      well; a second Ctrl-C stops at once and prints the command that cleans up.

      Scenarios (--test takes regular expressions over these names; a leading ! skips):

${SCENARIOS.map((s) => `      - ${s.name}: ${s.summary}`).join('\n')}

      Image: ${DEFAULT_IMAGE} (--image replaces it with a mirror; it must be agnhost).
      Exit 0 when every scenario passes, 1 otherwise, 124 on --timeout, 130/143 when interrupted.
    `,
    examples: [
      ['Test the whole cluster', '$0 connectivity'],
      ['Only the pod-to-pod scenarios, on two nodes', '$0 connectivity --test pod-to-pod --nodes node-a,node-b'],
      ['Everything but the policy scenarios', "$0 connectivity --test '!ingress|egress'"],
      ['For a CI system: one test case per scenario', '$0 connectivity -o junit > connectivity.xml'],
      ['From a mirror, in an air-gapped cluster', '$0 connectivity --image registry.example.com/e2e-test-images/agnhost:2.52'],
    ],
  });

  tests = Option.Array('--test', { description: 'Run only the scenarios these regular expressions match (repeatable, comma-separated; a leading ! skips)' });
  nodes = Option.String('--nodes', { description: 'Test only these nodes (names, comma-separated)' });
  selector = Option.String('-l,--selector', { description: 'Test only the nodes this label selector matches' });
  maxPairs = Option.String('--max-pairs', String(DEFAULT_MAX_PAIRS), { description: 'Cross-node pairs to probe beyond those that cover every node both ways (every pair when that is not more)' });
  image = Option.String('--image', DEFAULT_IMAGE, { description: 'The agnhost image to run (a mirror of the default, for air-gapped clusters)' });
  namespace = Option.String('--namespace', DEFAULT_NAMESPACE, { description: 'The namespace to create for the test (deleted at the end)' });
  keep = Option.Boolean('--keep', false, { description: 'Keep the namespace and its pods at the end (the policies are still removed)' });
  externalTarget = Option.String('--external-target', { description: 'HOST:PORT outside the cluster for pod-to-external (not probed without it)' });
  timeout = Option.String('--timeout', '5m', { description: 'How long the whole test may take before it stops, cleans up and exits 124' });
  output = Option.String('-o,--output', { description: 'Output format: table (default), json, yaml or junit' });

  override async execute(): Promise<number> {
    const format = (this.output ?? 'table') as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`unable to match a printer suitable for the output format "${this.output}", allowed formats are: ${FORMATS.join(',')}`);
    const timeoutMs = parseDuration(this.timeout, '--timeout');
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(this.namespace)) throw new UsageError(`invalid --namespace "${this.namespace}": a namespace is a DNS label (lower-case letters, digits and '-', at most 63)`);
    if (!/^\d+$/.test(this.maxPairs)) throw new UsageError(`invalid --max-pairs "${this.maxPairs}": expected a whole number`);
    if (!this.image || /\s/.test(this.image)) throw new UsageError(`invalid --image "${this.image}": expected an image reference such as ${DEFAULT_IMAGE}`);
    const { parseNodePick } = await import('../calico/node-pick.ts');
    const pick = parseNodePick(this.nodes, this.selector);
    const { selectScenarios, splitTarget } = await import('../calico/connectivity/scenarios.ts');
    const scenarios = selectScenarios(this.tests ?? []);
    if (this.externalTarget !== undefined) splitTarget(this.externalTarget);
    const kube = await this.kube();
    // The progress goes where the report does not: beside the table on stdout, to stderr under a document.
    const out = format === 'table' ? this.context.stdout : this.context.stderr;
    const tty = (out as { isTTY?: boolean }).isTTY === true;
    const colors = palette(format === 'table' && colorEnabled(this.color, this.context.env, tty));
    const [{ runConnectivity }, { ConnectivityProgress }, { failed, renderConnectivityJUnit, renderText }] = await Promise.all([
      import('../calico/connectivity/run.ts'), import('../print/connectivity-progress.ts'), import('../calico/connectivity/report.ts'),
    ]);
    const { doc, warnings } = await runConnectivity(kube, {
      namespace: this.namespace,
      image: this.image,
      scenarios,
      pick,
      maxPairs: Number(this.maxPairs),
      externalTarget: this.externalTarget,
      timeoutMs,
      keep: this.keep,
    }, new ConnectivityProgress(out, tty, colors, this.namespace));
    // One report for every form: JUnit is its text, with the warnings on stderr as for the others.
    const report = new Report<ConnectivityDoc>('ConnectivityReport', format === 'json' || format === 'yaml' ? format : 'text', this.context);
    for (const warning of warnings) report.warn(warning);
    report.setAll(doc);
    await report.finish(() => (format === 'junit' ? renderConnectivityJUnit(doc) : `\n${renderText(doc, colors)}`));
    return failed(doc) ? 1 : 0;
  }
}
