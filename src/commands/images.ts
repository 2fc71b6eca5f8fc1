import { Command, Option } from 'clipanion';
import { CalicoCommand } from '../cli/command.ts';
import { UsageError } from '../cli/errors.ts';
import { DEFAULT_CALICO_VERSION } from '../calico/versions.ts';
import type { ImageList } from '../calico/images.ts';
import { Report, type OutputFormat } from '../print/report.ts';

export class ImagesCommand extends CalicoCommand {
  static override paths = [['images']];

  static override usage = Command.Usage({
    description: 'List the images a Calico release deploys, and their names in a mirror',
    details: `
      Lists every image the release's Tigera operator deploys for the install guide's install (the operator first),
      with \`--all\` also the optional ones (Windows, certificate management, Gateway API, …) marked with when they are
      needed, and the image \`kubectl calico connectivity\` deploys. The lists are part of this binary for every release
      it pins, so it works offline. With \`--registry\`, \`--image-path\` or \`--image-prefix\` each row also shows the
      image's name in your mirror, composed as that release's operator composes it (the operator's own image as
      \`init --registry\` rewrites it). \`-o list\` prints \`SOURCE DESTINATION\` pairs for \`crane copy\` or
      \`skopeo copy --all\` in a loop.
    `,
    examples: [
      ['The images of the default release', '$0 images'],
      ['Copy v3.30.7 to a mirror with crane', "$0 images --calico-version v3.30.7 --registry registry.example.com:5000 -o list | while read -r src dst; do crane copy \"$src\" \"$dst\"; done"],
      ['Every image, optional ones included, as JSON', '$0 images --all -o json'],
    ],
  });

  calicoVersion = Option.String('--calico-version', DEFAULT_CALICO_VERSION, { description: 'The Calico release' });
  registry = Option.String('--registry', { description: 'Your mirror registry (host[:port][/path]); adds each image\'s mirrored name' });
  imagePath = Option.String('--image-path', { description: 'Replaces the first path segment (calico, tigera) in the mirror' });
  imagePrefix = Option.String('--image-prefix', { description: 'Put before each image\'s name in the mirror' });
  all = Option.Boolean('--all', false, { description: 'Also the optional images, marked with when they are needed' });
  output = Option.String('-o,--output', { description: 'Output format: table, list, json or yaml' });

  override async execute(): Promise<number> {
    const output = this.output ?? 'table';
    if (!['table', 'list', 'json', 'yaml'].includes(output)) throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: table,list,json,yaml`);
    if (!/^v\d+\.\d+\.\d+$/.test(this.calicoVersion)) throw new UsageError(`invalid --calico-version "${this.calicoVersion}": expected a release such as ${DEFAULT_CALICO_VERSION}`);
    const { imageList, parseImageSettings, renderImageTable, renderList } = await import('../calico/images.ts');
    const settings = parseImageSettings({ registry: this.registry, imagePath: this.imagePath, imagePrefix: this.imagePrefix });
    const list = imageList(this.calicoVersion, settings, this.all);
    if (output === 'list') {
      this.context.stdout.write(renderList(list));
      return 0;
    }
    const report = new Report<ImageList>('ImageList', output === 'table' ? 'text' : (output as OutputFormat), this.context);
    report.setAll(list);
    await report.finish(() => renderImageTable(list));
    return 0;
  }
}
