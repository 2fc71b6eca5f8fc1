// The images each pinned Calico release deploys, and their names in a
// mirror. The lists are tigera/operator's CalicoImages (pkg/components/
// calico.go) at the operator tag each release ships, kept here so `images`
// works offline; test/unit/images.test.ts holds them to
// ../shared/calico/images.tsv. References are composed as the operator's
// GetReference composes them (pkg/components/references.go): registry +
// image with the prefix inserted, then the path replaced, + ":" + tag.
import { CliError, UsageError } from '../cli/errors.ts';
import { tabwrite } from '../print/table.ts';
import { DEFAULT_IMAGE as CONNECTIVITY_IMAGE } from './connectivity/defaults.ts';
import { KNOWN_RELEASES, knownRelease } from './versions.ts';

/** When an image is needed: `always` the operator, `default` the docs install, the rest optional features. */
export type ImageWhen = 'always' | 'default' | 'certificate-management' | 'windows' | 'gateway-api' | 'management-cluster' | 'istio' | 'v3-crds' | 'connectivity';

/** What each `when` means, in images.tsv's words. */
export const WHEN_NOTES: Record<ImageWhen, string> = {
  always: 'the operator itself (tigera-operator.yaml); the Installation does not change it',
  default: 'deployed by the docs install (tigera-operator.yaml + custom-resources.yaml)',
  'certificate-management': 'Installation spec.certificateManagement set; the operator also requires it in any ImageSet',
  windows: 'calicoNetwork.windowsDataplane not Disabled',
  'gateway-api': 'a GatewayAPI resource exists',
  'management-cluster': 'a ManagementClusterConnection exists',
  istio: 'an Istio resource exists',
  'v3-crds': 'the operator runs in projectcalico.org/v3 CRD mode',
  connectivity: 'kubectl calico connectivity (its --image names a mirror); not deployed by the operator',
};

/** Component images by the first Calico minor that deploys them (FIPS variants left out, as in images.tsv). */
const COMPONENTS: { name: string; when: ImageWhen; since: number }[] = [
  ...['node', 'cni', 'pod2daemon-flexvol', 'typha', 'kube-controllers', 'csi', 'node-driver-registrar', 'apiserver'].map((name) => ({ name, when: 'default' as const, since: 29 })),
  ...['goldmane', 'whisker', 'whisker-backend'].map((name) => ({ name, when: 'default' as const, since: 30 })),
  { name: 'key-cert-provisioner', when: 'certificate-management', since: 29 },
  { name: 'node-windows', when: 'windows', since: 29 },
  { name: 'cni-windows', when: 'windows', since: 29 },
  ...['envoy-gateway', 'envoy-proxy', 'envoy-ratelimit'].map((name) => ({ name, when: 'gateway-api' as const, since: 30 })),
  { name: 'guardian', when: 'management-cluster', since: 30 },
  ...['istio-pilot', 'istio-install-cni', 'istio-ztunnel', 'istio-proxyv2'].map((name) => ({ name, when: 'istio' as const, since: 32 })),
  { name: 'webhooks', when: 'v3-crds', since: 32 },
];

/** One image as the operator names it by default: `registry` ends with `/`, `image` is the path (`calico/node`). */
export interface ReleaseImage {
  registry: string;
  image: string;
  tag: string;
  when: ImageWhen;
}

/** The Installation's image settings (and the operator Deployment's, which init rewrites to match). */
export interface ImageSettings {
  /** With the trailing `/` the operator expects. */
  registry?: string;
  imagePath?: string;
  imagePrefix?: string;
  imagePullSecrets?: string[];
}

export const OPERATOR_IMAGE = 'tigera/operator';

/**
 * The operator's default registry for Calico components: docker.io up to
 * operator v1.38.6, quay.io from v1.38.7 (pkg/components/images.go CalicoRegistry).
 */
export function defaultCalicoRegistry(operatorVersion: string): string {
  const [major = 0, minor = 0, patch = 0] = operatorVersion.replace(/^v/, '').split('.').map(Number);
  const quay = major > 1 || minor > 38 || (minor === 38 && patch >= 7);
  return quay ? 'quay.io/' : 'docker.io/';
}

/** Every image a pinned release's operator can deploy, the operator first; another release is an error naming the known ones. */
export function releaseImages(version: string): ReleaseImage[] {
  const release = knownRelease(version);
  if (!release) throw new CliError(`kubectl-calico has no image list for Calico ${version}; it knows ${KNOWN_RELEASES.map((r) => r.version).join(', ')}`, 2);
  const minor = Number(version.split('.')[1]);
  const registry = defaultCalicoRegistry(release.operatorVersion);
  return [
    { registry: 'quay.io/', image: OPERATOR_IMAGE, tag: release.operatorVersion, when: 'always' },
    ...COMPONENTS.filter((c) => minor >= c.since).map((c) => ({ registry, image: `calico/${c.name}`, tag: version, when: c.when })),
  ];
}

/** The connectivity test's image: not the operator's, so never renamed by the Installation's settings. */
export function connectivityImage(): ReleaseImage {
  const [registry, ...rest] = CONNECTIVITY_IMAGE.split('/');
  const [image, tag] = rest.join('/').split(':') as [string, string];
  return { registry: `${registry}/`, image, tag, when: 'connectivity' };
}

/** `registry + image:tag` */
export function referenceOf(image: ReleaseImage): string {
  return `${image.registry}${image.image}:${image.tag}`;
}

/** GetReference without an ImageSet: the settings' registry (else the default), the prefix inserted, the path replaced. */
export function mirroredReference(image: ReleaseImage, settings: ImageSettings): string {
  return `${settings.registry || image.registry}${mirroredPath(image.image, settings)}:${image.tag}`;
}

/** The image path after imagePrefix and imagePath, in the operator's order (insertPrefix, then ReplaceImagePath). */
export function mirroredPath(image: string, settings: Pick<ImageSettings, 'imagePath' | 'imagePrefix'>): string {
  let path = image;
  if (settings.imagePrefix) {
    const parts = path.split('/');
    parts[parts.length - 1] = `${settings.imagePrefix}${parts[parts.length - 1]}`;
    path = parts.join('/');
  }
  if (settings.imagePath) {
    const slash = path.indexOf('/');
    path = `${settings.imagePath}/${slash === -1 ? path : path.slice(slash + 1)}`;
  }
  return path;
}

export function hasImageSettings(settings: ImageSettings | undefined): settings is ImageSettings {
  return Boolean(settings && (settings.registry || settings.imagePath || settings.imagePrefix || settings.imagePullSecrets?.length));
}

// The distribution reference grammar (distribution/reference/regexp.go), which the kubelet's parser applies.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?';
const REGISTRY = new RegExp(`^${DOMAIN}(?:/${PATH_COMPONENT})*$`);
const IMAGE_PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const PREFIX = /^[a-z0-9][a-z0-9._-]*$/;
// A Secret's name is a DNS subdomain.
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const EXPECTED = {
  registry: 'a registry host with an optional port and path, such as registry.example.com:5000 or registry.example.com/mirror',
  imagePath: 'path segments such as "calico" or "mirror/calico" (lower case, no leading or trailing "/", no registry)',
  imagePrefix: 'lower-case letters, digits, ".", "_" or "-" (it goes before each image\'s name, as in "mirror-node")',
  imagePullSecret: 'a Secret name (lower-case letters, digits, "-" and ".")',
};

/** Why `value` is not a registry the operator can prefix image names with; undefined when it is one. */
function registryProblem(value: string): string | undefined {
  if (/\s/.test(value)) return 'it holds whitespace';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'a registry has no scheme (drop "https://")';
  if (value.includes('@')) return 'a registry has no digest (the operator adds each image\'s name and tag)';
  const trimmed = value.replace(/\/$/, '');
  if (trimmed === '' || trimmed.startsWith('/')) return 'the host is empty';
  const [host, ...path] = trimmed.split('/');
  if (path.some((segment) => segment.includes(':')) || (host!.includes(':') && !/:[0-9]+$/.test(host!))) return 'a registry has no tag (the operator adds each image\'s name and tag)';
  if (!REGISTRY.test(trimmed)) return 'it is not a registry name';
  return undefined;
}

/** The registry with the one trailing `/` the operator adds (fillDefaults). */
const withSlash = (registry: string) => `${registry.replace(/\/$/, '')}/`;
const secretNameValid = (name: string) => SECRET_NAME.test(name) && name.length <= 253;

/**
 * Checks the flags and returns the settings as the Installation holds them:
 * the registry with the trailing `/` the operator adds (fillDefaults), so
 * what init writes is what the operator reads back.
 */
export function parseImageSettings(flags: { registry?: string; imagePath?: string; imagePrefix?: string; imagePullSecrets?: string[] }): ImageSettings | undefined {
  const settings: ImageSettings = {};
  if (flags.registry !== undefined) settings.registry = parseRegistry(flags.registry);
  if (flags.imagePath !== undefined) {
    if (!IMAGE_PATH.test(flags.imagePath)) throw new UsageError(`invalid --image-path "${flags.imagePath}": expected ${EXPECTED.imagePath}`);
    settings.imagePath = flags.imagePath;
  }
  if (flags.imagePrefix !== undefined) {
    if (!PREFIX.test(flags.imagePrefix)) throw new UsageError(`invalid --image-prefix "${flags.imagePrefix}": expected ${EXPECTED.imagePrefix}`);
    settings.imagePrefix = flags.imagePrefix;
  }
  const secrets = flags.imagePullSecrets ?? [];
  for (const name of secrets) {
    if (!secretNameValid(name)) throw new UsageError(`invalid --image-pull-secret "${name}": expected ${EXPECTED.imagePullSecret}`);
  }
  if (secrets.length) settings.imagePullSecrets = [...new Set(secrets)];
  if (settings.imagePullSecrets && !settings.registry) throw new UsageError('--image-pull-secret needs --registry: the secrets are for pulling from your mirror');
  return hasImageSettings(settings) ? settings : undefined;
}

export function parseRegistry(value: string): string {
  const why = registryProblem(value);
  if (why) throw new UsageError(`invalid --registry "${value}": ${why}; expected ${EXPECTED.registry}`);
  return withSlash(value);
}

/** What an Installation's spec says about images. */
export interface InstallationImageSpec {
  registry?: string;
  imagePath?: string;
  imagePrefix?: string;
  imagePullSecrets?: { name: string }[];
}

/**
 * The settings an Installation holds, as upgrade carries them to the new
 * release's files. `UseDefault` is the operator's word for its default
 * (operator.tigera.io/v1 InstallationSpec), so it, '' and an absent field
 * are no setting; pull secrets need no registry there (they then authenticate
 * to the default ones). A value the operator could not use is a problem of
 * the Installation, named by its field, not of a flag.
 */
export function installationImageSettings(spec: InstallationImageSpec): ImageSettings | undefined {
  const given = (value: string | undefined) => (value === undefined || value === '' || value === 'UseDefault' ? undefined : value);
  const bad = (field: string, value: string, why: string) => new CliError(`the Installation's spec.${field} "${value}" is not one the operator can use: ${why}; correct it (kubectl edit installation default) or pass --dir with the folder init wrote`);
  const settings: ImageSettings = {};
  const registry = given(spec.registry);
  if (registry !== undefined) {
    const why = registryProblem(registry);
    if (why) throw bad('registry', registry, `${why}; expected ${EXPECTED.registry}`);
    settings.registry = withSlash(registry);
  }
  const imagePath = given(spec.imagePath);
  if (imagePath !== undefined) {
    if (!IMAGE_PATH.test(imagePath)) throw bad('imagePath', imagePath, `expected ${EXPECTED.imagePath}`);
    settings.imagePath = imagePath;
  }
  const imagePrefix = given(spec.imagePrefix);
  if (imagePrefix !== undefined) {
    if (!PREFIX.test(imagePrefix)) throw bad('imagePrefix', imagePrefix, `expected ${EXPECTED.imagePrefix}`);
    settings.imagePrefix = imagePrefix;
  }
  const secrets = (spec.imagePullSecrets ?? []).map((s) => s.name ?? '');
  const invalid = secrets.find((name) => !secretNameValid(name));
  if (invalid !== undefined) throw bad('imagePullSecrets', invalid, `expected ${EXPECTED.imagePullSecret}`);
  if (secrets.length) settings.imagePullSecrets = [...new Set(secrets)];
  return hasImageSettings(settings) ? settings : undefined;
}

export interface ImageRow {
  /** As the release's operator (or connectivity) names it by default. */
  image: string;
  when: ImageWhen;
  note: string;
  /** Its name in the mirror, with --registry, --image-path or --image-prefix. */
  mirror?: string;
}

export interface ImageList {
  calicoVersion: string;
  settings?: ImageSettings;
  all: boolean;
  images: ImageRow[];
}

/**
 * The images to mirror for a release: without `all` the operator and the
 * docs install's, with it every optional one too; then connectivity's.
 * The operator's mirrored name is the one init writes into tigera-operator.yaml.
 */
export function imageList(version: string, settings: ImageSettings | undefined, all: boolean): ImageList {
  const images = releaseImages(version).filter((i) => all || i.when === 'always' || i.when === 'default');
  const rows = [...images, connectivityImage()].map((i) => ({
    image: referenceOf(i),
    when: i.when,
    note: WHEN_NOTES[i.when],
    // The connectivity image keeps its own registry layout: `connectivity --image` takes the mirror's full name.
    ...(settings ? { mirror: mirroredReference(i, i.when === 'connectivity' ? { registry: settings.registry } : settings) } : {}),
  }));
  return { calicoVersion: version, ...(settings ? { settings } : {}), all, images: rows };
}

/** `SOURCE DESTINATION` lines for `crane copy` / `skopeo copy` loops; without a mirror, the sources alone. */
export function renderList(list: ImageList): string {
  return list.images.map((r) => (r.mirror ? `${r.image} ${r.mirror}` : r.image)).join('\n') + '\n';
}

/** A kubectl-style table (IMAGE, MIRROR with a mirror, WHEN), then what each optional WHEN means. */
export function renderImageTable(list: ImageList): string {
  const mirrored = list.settings !== undefined;
  const lines = [['IMAGE', ...(mirrored ? ['MIRROR'] : []), 'WHEN'], ...list.images.map((r) => [r.image, ...(mirrored ? [r.mirror!] : []), r.when])];
  const whens = [...new Set(list.images.map((r) => r.when))].filter((w) => w !== 'default');
  const notes = whens.map((w) => `  ${w}: ${WHEN_NOTES[w]}`);
  const hint = list.all ? [] : ['Optional images (Windows, certificate management, Gateway API, …): --all'];
  return `Calico ${list.calicoVersion}: ${list.images.length} images\n${tabwrite(lines)}\n${[...notes, ...hint].join('\n')}\n`;
}
