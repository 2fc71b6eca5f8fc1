// Small programs every shell image has (busybox applets on Alpine, coreutils
// on UBI); their behaviour for the arguments modelled is the same in both.
import { resolvConf, resolvConfText } from '../dataplane/dns.ts';
import type { KubeObject } from '../types.ts';
import { NotSimulated, type Program, type ProgramContext } from './program.ts';

/** `echo [-n] WORD...`: the words joined by spaces; -n leaves out the newline. No escape sequences. */
export const echo: Program = ({ argv }) => {
  const words = argv.slice(1);
  const newline = words[0] !== '-n';
  const text = (newline ? words : words.slice(1)).join(' ');
  if (text.includes('\\')) throw new NotSimulated('echo with backslash escapes is not simulated');
  return { stdout: newline ? `${text}\n` : text, exitCode: 0 };
};

/** `cat [FILE|-]...`: stdin and the files the kubelet writes into every container; other files are not modelled. */
export const cat: Program = async (context) => {
  const names = context.argv.length > 1 ? context.argv.slice(1) : ['-'];
  const parts: (string | Buffer)[] = [];
  for (const name of names) {
    if (name === '-') parts.push(await context.stdin());
    else parts.push(kubeletFile(context, name));
  }
  return { stdout: Buffer.concat(parts.map((p) => Buffer.from(p))), exitCode: 0 };
};

/** /etc/resolv.conf and /etc/hostname, as the kubelet writes them for the pod. */
function kubeletFile({ runtime, pod }: ProgramContext, name: string): string {
  if (name === '/etc/resolv.conf') return resolvConfText(resolvConf(runtime, pod));
  if (name === '/etc/hostname') return `${podHostname(pod)}\n`;
  throw new NotSimulated(`cat ${name}: this file is not simulated`);
}

/** The hostname a container sees: spec.hostname, else the pod's name (63 characters at most); its node's for a hostNetwork pod. */
export function podHostname(pod: KubeObject): string {
  const spec = pod.spec as { hostNetwork?: boolean; nodeName?: string; hostname?: string };
  return spec.hostNetwork ? spec.nodeName! : (spec.hostname ?? pod.metadata.name.slice(0, 63));
}

/** `true`, `false`: their exit code, whatever the arguments. */
export function exit(code: number): Program {
  return () => ({ exitCode: code });
}

/** `hostname`: the pod's hostname (spec.hostname, else its name), the node's for a hostNetwork pod. */
export const hostname: Program = ({ argv, pod }) => {
  if (argv.length > 1) throw new NotSimulated(`hostname ${argv.slice(1).join(' ')} is not simulated`);
  return { stdout: `${podHostname(pod)}\n`, exitCode: 0 };
};
