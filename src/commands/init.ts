import { Command, Option } from 'clipanion';
import { ClusterCommand } from '../cli/command.ts';
import { UsageError } from '../cli/errors.ts';
import { DEFAULT_CALICO_VERSION } from '../calico/versions.ts';
import type { InitResult } from '../calico/init.ts';
import { parseOutput, Report } from '../print/report.ts';

export const ENCAPSULATIONS = ['IPIPCrossSubnet', 'IPIP', 'VXLAN', 'VXLANCrossSubnet', 'None'];

export class InitCommand extends ClusterCommand {
  static override paths = [['init']];

  static override usage = Command.Usage({
    description: 'Download, verify and prepare the Calico manifests',
    details: `
      Downloads the operator manifests of a Calico release (from the Calico project's release location, a mirror
      URL or a folder), verifies every file against sha256 sums pinned in this binary, and writes them to a folder
      with the IP pool set to the cluster's pod subnet: only the pool values change in custom-resources.yaml, every
      other byte stays as upstream wrote it. The pool is checked against the cluster first, as \`kubectl calico doctor\`
      does (CAL-0701, CAL-0703, CAL-0704): equal to kubeadm's podSubnet is right; outside it, overlapping the service
      subnet or a node's address, fewer blocks than nodes, or a kubeadm-config without podSubnet is refused unless
      \`--force\`. Without \`--pod-cidr\`, the podSubnet is read from kube-system/kubeadm-config (or the nodes'
      podCIDRs). Without a kubeconfig or a reachable cluster, \`init --pod-cidr …\` still writes the files and says it
      could not check; a kubeconfig that cannot be used (a missing file, bad YAML, an unknown \`--context\`) is an error.

      With \`--registry\` (and \`--image-path\`, \`--image-prefix\`, \`--image-pull-secret\`) every image comes from your
      mirror: the operator Deployment's image (and its imagePullSecrets) in tigera-operator.yaml and registry, imagePath,
      imagePrefix and imagePullSecrets in the Installation are set, nothing else; \`kubectl calico images\` with the same
      flags lists what to copy there. Pull secrets must exist in the tigera-operator namespace before \`apply\`.

      With \`--image-set FILE\` every Calico image is pinned by digest: one image a line, \`REF@sha256:…\` (what
      \`crane digest --full-ref\` prints) or \`REF sha256:…\`, named upstream's way or the mirror's. They are written as the
      operator's ImageSet calico-<release>, a document added to custom-resources.yaml. An image the release does not
      deploy, a digest that is not sha256, or a set without every image the operator requires (key-cert-provisioner
      included: \`kubectl calico images --all\` lists it) is refused.
    `,
    examples: [
      ["Prepare Calico for the cluster's own pod subnet", '$0 init'],
      ['Prepare it for the guide\'s cluster', '$0 init --pod-cidr 10.97.0.0/16'],
      ['Dual-stack', '$0 init --pod-cidr 10.97.0.0/16,fd00:10:97::/56'],
      ['An air-gapped site with a local copy of the manifests', '$0 init --pod-cidr 10.97.0.0/16 --manifests-from /srv/calico/v3.29.0'],
      ['Pull every image from a mirror (see `kubectl calico images`)', '$0 init --pod-cidr 10.97.0.0/16 --registry registry.example.com:5000 --image-pull-secret mirror-pull --manifests-from /srv/calico/v3.29.0'],
      ['… and pin each image by the digest resolved while mirroring', '$0 init --pod-cidr 10.97.0.0/16 --registry registry.example.com:5000 --image-set digests.txt --manifests-from /srv/calico/v3.29.0'],
    ],
  });

  podCidr = Option.String('--pod-cidr', { description: 'The IP pool(s): one CIDR per IP family, comma-separated (default: the cluster\'s podSubnet)' });
  calicoVersion = Option.String('--calico-version', DEFAULT_CALICO_VERSION, { description: 'The Calico release to install' });
  dir = Option.String('--dir', './calico', { description: 'Where to write the manifests' });
  blockSize = Option.String('--block-size', { description: 'IPv4 block size, 20 to 32' });
  blockSizeV6 = Option.String('--block-size-v6', { description: 'IPv6 block size, 116 to 128' });
  encapsulation = Option.String('--encapsulation', 'VXLANCrossSubnet', { description: `Pool encapsulation: ${ENCAPSULATIONS.join(', ')}` });
  natOutgoing = Option.String('--nat-outgoing', 'Enabled', { description: 'Enabled or Disabled' });
  nodeSelector = Option.String('--node-selector', 'all()', { description: 'Which nodes take addresses from the pool' });
  manifestsFrom = Option.String('--manifests-from', { description: 'A folder or mirror URL holding the release\'s files (air-gapped sites)' });
  checksums = Option.String('--checksums', { description: 'A sha256sum-format file for a version without pinned sums' });
  insecureSkipVerify = Option.Boolean('--insecure-skip-verify', false, { description: 'Use files without checking their sha256 (unsafe)' });
  registry = Option.String('--registry', { description: 'Pull every Calico image, the operator\'s too, from this mirror (host[:port][/path])' });
  imagePath = Option.String('--image-path', { description: 'The mirror\'s path in place of calico/ and tigera/ (the Installation\'s imagePath)' });
  imagePrefix = Option.String('--image-prefix', { description: 'Put before each image\'s name in the mirror (the Installation\'s imagePrefix)' });
  imagePullSecrets = Option.Array('--image-pull-secret', { description: 'A docker-registry Secret in tigera-operator for the mirror (repeatable)' });
  imageSet = Option.String('--image-set', { description: 'Pin every image by digest: a file of REF@sha256:… lines (crane digest --full-ref), written as the ImageSet' });
  overwrite = Option.Boolean('--overwrite', false, { description: 'Replace files in --dir that differ' });
  force = Option.Boolean('--force', false, { description: 'Write a pool the cluster checks refuse' });
  output = Option.String('-o,--output', { description: 'Output format: json or yaml' });
  override requestTimeout = Option.String('--request-timeout', '10s', { description: 'How long to wait for the cluster before writing the files unchecked (0 means no limit)' });

  override async execute(): Promise<number> {
    const format = parseOutput(this.output, ['json', 'yaml']);
    if (!/^v\d+\.\d+\.\d+$/.test(this.calicoVersion)) throw new UsageError(`invalid --calico-version "${this.calicoVersion}": expected a release such as ${DEFAULT_CALICO_VERSION}`);
    if (!ENCAPSULATIONS.includes(this.encapsulation)) throw new UsageError(`invalid --encapsulation "${this.encapsulation}": expected one of ${ENCAPSULATIONS.join(', ')}`);
    if (!['Enabled', 'Disabled'].includes(this.natOutgoing)) throw new UsageError(`invalid --nat-outgoing "${this.natOutgoing}": expected Enabled or Disabled`);
    if (this.nodeSelector.trim() === '') throw new UsageError('--node-selector is empty: expected a Calico selector such as all()');
    const { parseImageSettings } = await import('../calico/images.ts');
    const images = parseImageSettings({ registry: this.registry, imagePath: this.imagePath, imagePrefix: this.imagePrefix, imagePullSecrets: this.imagePullSecrets });
    const { runInit, renderInit } = await import('../calico/init.ts');
    const report = new Report<InitResult>('InitResult', format, this.context);
    const result = await runInit({
      podCidr: this.podCidr,
      version: this.calicoVersion,
      dir: this.dir,
      blockSize: this.blockSize === undefined ? undefined : integer(this.blockSize, '--block-size'),
      blockSizeV6: this.blockSizeV6 === undefined ? undefined : integer(this.blockSizeV6, '--block-size-v6'),
      encapsulation: this.encapsulation,
      natOutgoing: this.natOutgoing,
      nodeSelector: this.nodeSelector,
      manifestsFrom: this.manifestsFrom,
      checksums: this.checksums,
      insecureSkipVerify: this.insecureSkipVerify,
      overwrite: this.overwrite,
      images,
      imageSetFile: this.imageSet,
      force: this.force,
      env: this.context.env,
      connect: () => this.kube(),
      warn: (message: string) => report.warn(message),
    });
    for (const [key, value] of Object.entries(result)) report.set(key as keyof InitResult, value as never);
    await report.finish((facts) => renderInit(facts as InitResult));
    return 0;
  }
}

function integer(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid ${flag} "${value}": expected a whole number`);
  return Number(value);
}
