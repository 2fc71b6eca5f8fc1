// Small programs every shell image has (busybox applets on Alpine, coreutils
// on UBI); their behaviour for the arguments modelled is the same in both.
import { NotSimulated, type Program } from './program.ts';

/** `echo [-n] WORD...`: the words joined by spaces; -n leaves out the newline. No escape sequences. */
export const echo: Program = ({ argv }) => {
  const words = argv.slice(1);
  const newline = words[0] !== '-n';
  const text = (newline ? words : words.slice(1)).join(' ');
  if (text.includes('\\')) throw new NotSimulated('echo with backslash escapes is not simulated');
  return { stdout: newline ? `${text}\n` : text, exitCode: 0 };
};

/** `cat` or `cat -`: stdin to stdout. Files are not modelled. */
export const cat: Program = async ({ argv, stdin }) => {
  if (argv.slice(1).some((arg) => arg !== '-')) throw new NotSimulated(`cat ${argv.slice(1).join(' ')}: files are not simulated`);
  return { stdout: await stdin(), exitCode: 0 };
};

/** `true`, `false`: their exit code, whatever the arguments. */
export function exit(code: number): Program {
  return () => ({ exitCode: code });
}

/** `hostname`: the pod's hostname (spec.hostname, else its name), the node's for a hostNetwork pod. */
export const hostname: Program = ({ argv, pod }) => {
  if (argv.length > 1) throw new NotSimulated(`hostname ${argv.slice(1).join(' ')} is not simulated`);
  const spec = pod.spec as { hostNetwork?: boolean; nodeName?: string; hostname?: string };
  const name = spec.hostNetwork ? spec.nodeName! : (spec.hostname ?? pod.metadata.name.slice(0, 63));
  return { stdout: `${name}\n`, exitCode: 0 };
};
