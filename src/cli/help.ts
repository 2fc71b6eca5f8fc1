import type { Definition } from 'clipanion';
import { CLUSTER_FLAGS } from './command.ts';

/** `kubectl calico --help`: the commands, then how to get help on one. */
export function renderTopHelp(binaryName: string, definitions: Definition[]): string {
  const width = Math.max(...definitions.map((d) => commandName(d, binaryName).length));
  const commands = definitions.map((d) => `  ${commandName(d, binaryName).padEnd(width)}   ${d.description?.trim() ?? ''}`);
  return [
    `${binaryName} installs the Calico CNI on a kubeadm cluster through the Tigera operator, the way the`,
    'install guide does it by hand, and checks it: downloads verified against pinned checksums, the IP pool',
    "checked against the cluster's pod subnet, server-side apply, and waits that follow the cluster's events.",
    '',
    'Commands:',
    ...commands,
    '',
    'Usage:',
    `  ${binaryName} <command> [options]`,
    '',
    `Use "${binaryName} <command> --help" for more information about a command.`,
    '',
  ].join('\n');
}

/** `kubectl calico <command> --help`, laid out like kubectl's own help. */
export function renderCommandHelp(binaryName: string, definition: Definition): string {
  const sections: string[] = [];
  sections.push(definition.description?.trim() ? `${definition.description.trim()}.` : '');
  if (definition.details) sections.push(definition.details.trimEnd().replace(/ +$/gm, ''));
  if (definition.examples?.length) {
    sections.push(`Examples:\n${definition.examples.map(([label, command]) => `  # ${label.trim()}\n  ${command}`).join('\n\n')}`);
  }
  const own = definition.options.filter((o) => !CLUSTER_FLAGS.has(flagNames(o.definition)[0]!));
  const cluster = definition.options.filter((o) => CLUSTER_FLAGS.has(flagNames(o.definition)[0]!));
  if (own.length) sections.push(['Options:', ...renderOptions(own)].join('\n'));
  if (cluster.length) sections.push(['Cluster and global options (as for kubectl):', ...renderOptions(cluster)].join('\n'));
  sections.push(`Usage:\n  ${binaryName} ${commandName(definition, binaryName)} [options]`);
  return `${sections.filter(Boolean).join('\n\n')}\n`;
}

/** The command's words without the binary name: `version`, `completion bash`. */
export function commandName(definition: Definition, binaryName: string): string {
  return definition.path.slice(binaryName.length).trim().split(' ').filter((w) => /^[a-z][\w-]*$/.test(w)).join(' ');
}

function renderOptions(options: Definition['options']): string[] {
  const rows = options.map((option) => {
    const names = flagNames(option.definition);
    const valued = option.definition.includes(' #0') || option.definition.includes(' #');
    const short = names.find((n) => /^-[^-]/.test(n));
    const long = names.find((n) => n.startsWith('--')) ?? names[0]!;
    const left = `${short ? `${short}, ` : '    '}${long}${valued ? ' string' : ''}`;
    return [left, option.description ?? ''] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, description]) => `  ${left.padEnd(width)}   ${description}`);
}

function flagNames(definition: string): string[] {
  return (definition.split(' ')[0] ?? '').split(',');
}
