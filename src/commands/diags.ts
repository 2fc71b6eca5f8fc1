import path from 'node:path';
import { Command, Option } from 'clipanion';
import { GIT_COMMIT, PLUGIN_NAME, PLUGIN_VERSION } from '../build-info.ts';
import { ClusterCommand } from '../cli/command.ts';
import { parseDuration } from '../cli/duration.ts';
import { CliError, UsageError } from '../cli/errors.ts';
import { parseByteSize } from '../cli/size.ts';
import { DEFAULT_CALICO_VERSION } from '../calico/versions.ts';
import { goArch } from './version.ts';

export class DiagsCommand extends ClusterCommand {
  static override paths = [['diags']];

  static override usage = Command.Usage({
    description: 'Collect one archive of diagnostics, safe to attach to a public bug report',
    details: `
      Reads, through the API only, what Calico's maintainers ask for: status, doctor and version (run in-process);
      every operator.tigera.io and crd.projectcalico.org resource; NetworkPolicies, AdminNetworkPolicies and
      ServiceCIDRs where served; the workloads, pods, services, endpoint slices, service accounts, ConfigMaps, Secrets
      (name, type and key names only) and events of tigera-operator, calico-system and calico-apiserver; the nodes and
      Warning events; CoreDNS and kube-proxy; kubeadm's and kube-proxy's configuration; the CRDs' names and versions;
      kubectl-calico.yaml from --dir; container logs (the newest --max-log-bytes of each, previous logs of restarted
      containers) — the control components' first (tigera-operator, calico-kube-controllers, calico-apiserver,
      calico-typha, CoreDNS), then those of calico-node, csi-node-driver and kube-proxy on the chosen nodes, until the
      archive holds --max-total-bytes; and, through pods/exec in calico-node, each chosen node's BIRD state, routes,
      rules, links, addresses, neighbours, ipsets, iptables (both backends), nftables and CNI configuration directory.
      By default the nodes with a problem and a sample of healthy ones are chosen; --nodes all chooses every node.

      Nothing secret is written: no Secret's data or annotations, no last-applied-configuration or managedFields, and
      values under a credential's name or that look like keys, tokens or credentials become <redacted: N bytes>. The kubeconfig is never read into
      the archive. Items that cannot be read (a missing permission, an unreachable kubelet) are listed in diags.log
      inside the archive and counted on the last line; the archive is still written (exit 0 with a warning), unless
      nothing at all could be read (exit 1). Ctrl-C leaves no file behind.
    `,
    examples: [
      ['Collect a bundle in the current folder', '$0 diags'],
      ['Every node, into a given file', '$0 diags --nodes all --output-file /tmp/calico.tar.gz'],
      ['Only the last 15 minutes of logs, no node data', '$0 diags --since 15m --no-node-data'],
    ],
  });

  outputFile = Option.String('--output-file', { description: 'Where to write the archive (default: calico-diags-<context>-<UTC time>.tar.gz in the current folder)' });
  dir = Option.String('--dir', './calico', { description: 'The folder init wrote: its kubectl-calico.yaml goes into the bundle when present' });
  since = Option.String('--since', '1h', { description: 'Logs newer than this duration (previous logs of restarted containers are read whole)' });
  maxLogBytes = Option.String('--max-log-bytes', '10Mi', { description: 'Keep the newest this many bytes of each log' });
  maxTotalBytes = Option.String('--max-total-bytes', '200Mi', { description: 'Stop adding logs once the bundle holds this many bytes (before compression)' });
  nodes = Option.String('--nodes', { description: 'Nodes to collect host data and per-node pods\' logs from: names (comma-separated) or "all" (default: nodes with problems and a sample)' });
  selector = Option.String('-l,--selector', { description: 'Collect host data and per-node pods\' logs from the nodes with these labels (a label selector, as kubectl get -l)' });
  noNodeData = Option.Boolean('--no-node-data', false, { description: 'Collect nothing through pods/exec' });

  override async execute(): Promise<number> {
    const sinceMs = parseDuration(this.since, '--since');
    if (sinceMs <= 0) throw new UsageError(`invalid value "${this.since}" for --since: expected a duration above zero`);
    const maxLogBytes = parseByteSize(this.maxLogBytes, '--max-log-bytes');
    const maxTotalBytes = parseByteSize(this.maxTotalBytes, '--max-total-bytes');
    if (this.noNodeData && (this.nodes !== undefined || this.selector !== undefined)) throw new UsageError('--no-node-data cannot be combined with --nodes or --selector');
    const { parseNodePick } = await import('../calico/node-pick.ts');
    const pick = this.nodes === 'all' && this.selector === undefined ? 'all' as const : this.nodes === undefined && this.selector === undefined ? undefined : parseNodePick(this.nodes === 'all' ? undefined : this.nodes, this.selector);
    const { checkTarget, bundleName } = await import('../calico/diags/archive.ts');
    if (this.outputFile !== undefined) checkTarget(this.outputFile, '--output-file');
    const kube = await this.kube();
    const now = new Date();
    const target = this.outputFile ?? bundleName(kube.contextName, now);
    if (this.outputFile === undefined) checkTarget(target, undefined);
    const [{ collectDiags, NothingReadable }, { interruptible }, { diagsProgress, formatBytes }] = await Promise.all([
      import('../calico/diags/collect.ts'), import('../cli/interrupt.ts'), import('../print/diags-progress.ts'),
    ]);
    const progress = await diagsProgress(this.context.stderr);
    const run = interruptible(0, 'diags');
    try {
      const result = await collectDiags(kube, {
        target, now, dir: this.dir, sinceMs, maxLogBytes, maxTotalBytes, nodes: pick, nodeData: !this.noNodeData,
        concurrency: 16, execTimeoutMs: this.requestTimeoutMs(), signal: run.signal, onItem: progress.item,
        clientVersion: { plugin: PLUGIN_NAME, version: PLUGIN_VERSION, gitCommit: GIT_COMMIT, nodeVersion: process.version, platform: `${process.platform}/${goArch(process.arch)}` },
        defaultCalicoVersion: DEFAULT_CALICO_VERSION,
      }).catch((error: unknown) => {
        if (error instanceof NothingReadable) throw new CliError(`nothing could be read from the cluster, no archive written: ${error.failures} ${error.failures === 1 ? 'item' : 'items'} failed, the first: ${error.first ?? 'none'}`);
        throw error;
      });
      progress.finish();
      if (result.uncollected) this.context.stderr.write(`Warning: ${result.uncollected} ${result.uncollected === 1 ? 'item' : 'items'} could not be collected; diags.log in the archive lists each and why\n`);
      if (result.logsLeftOut) this.context.stderr.write(`Warning: ${result.logsLeftOut} ${result.logsLeftOut === 1 ? 'log' : 'logs'} left out: the archive reached --max-total-bytes (${this.maxTotalBytes}); diags.log says which\n`);
      const shown = this.outputFile ?? `./${path.basename(result.path)}`;
      this.context.stdout.write(`Wrote ${shown}: ${formatBytes(result.bytes)}, ${result.files} files, ${result.uncollected} ${result.uncollected === 1 ? 'item' : 'items'} not collected\n`);
      return 0;
    } finally {
      progress.finish();
      run.dispose();
    }
  }
}
