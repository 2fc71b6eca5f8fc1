// `ls` (coreutils) in calico/node, for the one directory of the host a
// diagnostics bundle lists: the CNI configuration directory, which the
// operator mounts into the calico-node container at /host/etc/cni/net.d
// (tigera/operator pkg/render/node.go: calico-node refreshes the token of
// calico-kubeconfig there). What install-cni wrote is modelled: the operator's
// 10-calico.conflist and calico-kubeconfig (mode 0600), dated when the pod's
// install-cni init container finished. Output as GNU ls prints it in the C
// locale and the container's zone (UTC): `total` in 1 KiB blocks (4 KiB a
// file or directory on ext4), then one line per entry with the columns
// right-aligned to their widest cell, the date as `Mon DD HH:MM` within six
// months, else `Mon DD  YYYY`.
import type { KubeObject } from '../types.ts';
import { NotSimulated, type Program } from './program.ts';

const CNI_DIR = '/host/etc/cni/net.d';
/** The operator's conflist for a Calico CNI with Calico IPAM and the bandwidth and portmap plugins, and the kubeconfig install-cni writes (a token and the CA inline). */
const FILES = [
  { name: '10-calico.conflist', mode: '-rw-r--r--', size: 734 },
  { name: 'calico-kubeconfig', mode: '-rw-------', size: 2727 },
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export const ls: Program = ({ argv, pod, container, runtime }) => {
  const args = argv.slice(1);
  const dir = args.filter((a) => !a.startsWith('-'));
  const flags = args.filter((a) => a.startsWith('-')).join('');
  if (flags.replace(/-/g, '') !== 'la' && flags.replace(/-/g, '') !== 'al') throw new NotSimulated(`ls ${args.join(' ')} is not simulated (ls -la ${CNI_DIR} is)`);
  if (dir.length !== 1 || dir[0]!.replace(/\/$/, '') !== CNI_DIR) throw new NotSimulated(`ls of ${dir.join(' ') || 'the working directory'} is not simulated (ls -la ${CNI_DIR} is)`);
  if (pod.metadata.namespace !== 'calico-system' || pod.metadata.labels?.['k8s-app'] !== 'calico-node' || container.name !== 'calico-node') {
    return { stderr: `ls: cannot access '${CNI_DIR}': No such file or directory\n`, exitCode: 2 };
  }
  const written = installedAt(pod) ?? runtime.clock.now().getTime();
  const now = runtime.clock.now().getTime();
  const entries = [
    { name: '.', mode: 'drwxr-xr-x', links: 2, size: 4096 },
    { name: '..', mode: 'drwxr-xr-x', links: 3, size: 4096 },
    ...FILES.map((f) => ({ ...f, links: 1 })),
  ];
  const sizeWidth = Math.max(...entries.map((e) => String(e.size).length));
  const lines = entries.map((e) => `${e.mode} ${e.links} root root ${String(e.size).padStart(sizeWidth)} ${lsDate(written, now)} ${e.name}`);
  return { stdout: `total ${entries.length * 4}\n${lines.join('\n')}\n`, exitCode: 0 };
};

/** When the pod's install-cni finished: the files' modification time. */
function installedAt(pod: KubeObject): number | undefined {
  const statuses = (pod.status as { initContainerStatuses?: { name: string; state?: { terminated?: { finishedAt?: string } } }[] } | undefined)?.initContainerStatuses;
  const finished = statuses?.find((s) => s.name === 'install-cni')?.state?.terminated?.finishedAt;
  return finished ? Date.parse(finished) : undefined;
}

/** GNU ls's default time style: recent files (within six months, not in the future) with the time, others with the year. */
function lsDate(ms: number, now: number): string {
  const d = new Date(ms);
  const day = String(d.getUTCDate()).padStart(2);
  const recent = now - ms < 182.5 * 86_400_000 && ms <= now + 1000;
  const tail = recent ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}` : ` ${d.getUTCFullYear()}`;
  return `${MONTHS[d.getUTCMonth()]} ${day} ${tail}`;
}
