// Shell completion in cobra's `__complete` protocol — the one kubectl (1.26+)
// speaks with `kubectl_complete-<plugin>` executables: one candidate per
// line (`value<TAB>description`), then `:<directive>` (4: no file names).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Definition } from 'clipanion';
import { KNOWN_RELEASES } from '../calico/versions.ts';

const NO_FILES = 4;
const FILES = 0;

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'];

const FLAG_VALUES: Record<string, (env: NodeJS.ProcessEnv) => string[] | Promise<string[]>> = {
  '--context': contextNames,
  '--calico-version': () => KNOWN_RELEASES.map((r) => r.version).reverse(),
  '-o': () => ['json', 'yaml', 'wide'],
  '--output': () => ['json', 'yaml', 'wide'],
};

/** Completions for `words` (the command line after `kubectl calico`, the last one being typed). */
export async function complete(words: string[], definitions: Definition[], commandName: (d: Definition) => string, env: NodeJS.ProcessEnv): Promise<string> {
  const typed = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const commands = definitions.map((d) => ({ name: commandName(d), definition: d }));
  // The longest command the words name (`ipam show` rather than `ipam`), and the next words of longer ones.
  const command = commands.filter((c) => c.name.split(' ').every((w, i) => before[i] === w)).sort((a, b) => b.name.length - a.name.length)[0];
  const longer = commands.filter((c) => c.name.split(' ').length > before.length && before.every((w, i) => c.name.split(' ')[i] === w));
  let candidates: string[] = [];
  let directive = NO_FILES;
  if (!command || (longer.length && !typed.startsWith('-'))) {
    const words = new Map<string, string>();
    for (const c of longer) {
      const word = c.name.split(' ')[before.length]!;
      if (!words.has(word)) words.set(word, c.definition.description ?? '');
    }
    candidates = [...words].map(([word, description]) => `${word}\t${description}`);
  } else {
    const previous = before[before.length - 1] ?? '';
    const valued = new Set(command.definition.options.filter((o) => o.definition.includes(' #')).flatMap((o) => o.definition.split(' ')[0]!.split(',')));
    if (valued.has(previous)) {
      const values = FLAG_VALUES[previous];
      if (values) candidates = await values(env);
      else directive = previous === '--kubeconfig' || previous === '--certificate-authority' || previous === '--dir' ? FILES : NO_FILES;
    } else if (typed.startsWith('-')) {
      candidates = command.definition.options.flatMap((o) => o.definition.split(' ')[0]!.split(',').filter((n) => n.startsWith('--')).map((n) => `${n}\t${o.description ?? ''}`));
    } else if (command.name === 'completion') {
      candidates = SHELLS;
    }
  }
  const matching = candidates.filter((c) => c.startsWith(typed) && c.split('\t')[0] !== '');
  return `${matching.join('\n')}${matching.length ? '\n' : ''}:${directive}\n`;
}

/** Context names from the kubeconfig files kubectl would read. */
async function contextNames(env: NodeJS.ProcessEnv): Promise<string[]> {
  // yaml is loaded here only: every start-up would pay for evaluating it.
  const { parse } = await import('yaml');
  const files = env.KUBECONFIG ? env.KUBECONFIG.split(path.delimiter).filter(Boolean) : [path.join(env.HOME ?? os.homedir(), '.kube', 'config')];
  const names: string[] = [];
  for (const file of files) {
    try {
      const config = parse(fs.readFileSync(file, 'utf8')) as { contexts?: { name: string }[] } | null;
      for (const context of config?.contexts ?? []) if (!names.includes(context.name)) names.push(context.name);
    } catch {
      // An unreadable kubeconfig just offers nothing to complete.
    }
  }
  return names;
}

/** The script `kubectl calico completion <shell>` prints, for the kubectl-calico executable itself. */
export function completionScript(shell: string): string {
  const fetch = 'kubectl-calico __complete';
  switch (shell) {
    case 'bash':
      return `# bash completion for kubectl-calico; source it, e.g. from ~/.bashrc: source <(kubectl calico completion bash)
_kubectl_calico() {
  local out directive cur="\${COMP_WORDS[COMP_CWORD]}"
  out=$(${fetch} "\${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null) || return
  directive=\${out##*:}
  COMPREPLY=($(compgen -W "$(printf '%s\\n' "$out" | sed '$d' | cut -f1)" -- "$cur"))
  if [ \${#COMPREPLY[@]} -eq 0 ] && [ "$directive" = 0 ]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _kubectl_calico kubectl-calico
`;
    case 'zsh':
      return `#compdef kubectl-calico
# zsh completion for kubectl-calico; e.g. in ~/.zshrc: source <(kubectl calico completion zsh)
_kubectl_calico() {
  local -a lines candidates
  lines=("\${(@f)$(${fetch} "\${words[@]:1:$((CURRENT-1))}" 2>/dev/null)}")
  candidates=("\${(@)\${lines[1,-2]//$'\\t'/:}}")
  _describe 'kubectl-calico' candidates
}
compdef _kubectl_calico kubectl-calico
`;
    case 'fish':
      return `# fish completion for kubectl-calico; e.g. kubectl calico completion fish > ~/.config/fish/completions/kubectl-calico.fish
complete -c kubectl-calico -f -a '(${fetch} (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null | sed "\\$d")'
`;
    default:
      return `# PowerShell completion for kubectl-calico; e.g. kubectl calico completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName kubectl-calico -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = $commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() }
  if ($wordToComplete -eq '') { $words += '' }
  (& kubectl-calico __complete @words 2>$null) | Where-Object { $_ -notmatch '^:' } | ForEach-Object {
    $value, $description = $_ -split "\`t", 2
    [System.Management.Automation.CompletionResult]::new($value, $value, 'ParameterValue', $(if ($description) { $description } else { $value }))
  }
}
`;
  }
}
