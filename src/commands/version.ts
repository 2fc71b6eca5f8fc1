import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { GIT_COMMIT, PLUGIN_NAME, PLUGIN_VERSION } from '../build-info.ts';
import { DEFAULT_CALICO_VERSION } from '../calico/versions.ts';
import type { InstalledCalico } from '../calico/installed.ts';
import { parseOutput, Report, type OutputFormat } from '../print/report.ts';
import { shadowWarnings } from '../plugin/path.ts';

export interface VersionDoc {
  clientVersion: { plugin: string; version: string; gitCommit: string; nodeVersion: string; platform: string };
  defaultCalicoVersion: string;
  serverVersion: { gitVersion: string; major?: string; minor?: string; platform?: string };
  calico: InstalledCalico;
}

export class VersionCommand extends ClusterCommand {
  static override paths = [['version']];

  static override usage = Command.Usage({
    description: 'Print the plugin, Kubernetes and Calico versions',
    details: `
      Prints this plugin's version and the Calico version \`init\` installs by default. When a cluster is reachable it
      also prints the Kubernetes server version and the Calico and Tigera operator versions installed in it (from the
      Installation's status and the operator Deployment's image). Warns when another \`kubectl-calico\` on PATH (for
      example calicoctl, which its install guide names the same) shadows this plugin or is shadowed by it.
    `,
    examples: [
      ['Print the client and cluster versions', '$0 version'],
      ['Print the client version only (no cluster needed)', '$0 version --client'],
      ['Print the versions as JSON', '$0 version -o json'],
    ],
  });

  client = Option.Boolean('--client', false, { description: 'Print the client version only (no server required)' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });

  override async execute(): Promise<void> {
    const format = parseOutput(this.output, ['json', 'yaml']);
    const report = new Report<VersionDoc>('Version', format, this.context);
    report.set('clientVersion', {
      plugin: PLUGIN_NAME,
      version: PLUGIN_VERSION,
      gitCommit: GIT_COMMIT,
      nodeVersion: process.version,
      platform: `${process.platform}/${goArch(process.arch)}`,
    });
    report.set('defaultCalicoVersion', DEFAULT_CALICO_VERSION);
    for (const warning of shadowWarnings(this.context.env)) report.warn(warning);
    if (this.client) return report.finish(renderVersion);
    try {
      const kube = await this.kube();
      const { installedCalico } = await import('../calico/installed.ts');
      const [server, calico] = await Promise.all([kube.json<VersionDoc['serverVersion']>('/version'), installedCalico(kube)]);
      report.set('serverVersion', server);
      report.set('calico', calico);
    } finally {
      await report.finish(renderVersion);
    }
  }
}

export function renderVersion(doc: Partial<VersionDoc>, _format: OutputFormat): string {
  const lines: string[] = [];
  const client = doc.clientVersion;
  if (client) lines.push(`Plugin: ${client.plugin} ${client.version} (commit ${client.gitCommit}, node ${client.nodeVersion}, ${client.platform})`);
  if (doc.defaultCalicoVersion) lines.push(`Default Calico Version: ${doc.defaultCalicoVersion}`);
  if (doc.serverVersion) lines.push(`Server Version: ${doc.serverVersion.gitVersion}`);
  if (doc.calico) lines.push(...renderCalico(doc.calico));
  return lines.map((line) => `${line}\n`).join('');
}

function renderCalico(calico: InstalledCalico): string[] {
  if (!calico.installed && !calico.error) return ['Calico Version: not installed (run "kubectl calico init")'];
  const lines = [`Calico Version: ${calico.version ? `${calico.version} (from the ${calico.versionSource})` : 'unknown'}`];
  if (calico.operatorImage) lines.push(`Tigera Operator Version: ${calico.operatorVersion} (${calico.operatorImage})`);
  if (calico.error) lines.push(`Calico Version Error: ${calico.error}`);
  return lines;
}

/** Go's GOARCH names, which kubectl and krew use. */
export function goArch(arch: string): string {
  return ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[arch] ?? arch;
}
