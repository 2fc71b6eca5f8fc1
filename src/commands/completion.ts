import { Command, Option } from 'clipanion';
import { CalicoCommand } from '../cli/command.ts';
import { completionScript, SHELLS } from '../cli/complete.ts';
import { UsageError } from '../cli/errors.ts';

export class CompletionCommand extends CalicoCommand {
  static override paths = [['completion']];

  static override usage = Command.Usage({
    description: 'Print a shell completion script',
    details: `
      Prints a completion script for bash, zsh, fish or PowerShell that completes the \`kubectl-calico\` executable:
      commands, flags, \`--context\` names from your kubeconfig and \`--calico-version\` values.

      For \`kubectl calico <TAB>\`, kubectl (1.26 and later) asks an executable named \`kubectl_complete-calico\` on
      PATH, which this binary is when linked under that name. krew links only the plugin itself
      (kubernetes-sigs/krew#812), so make the link once:
      \`ln -s "$(command -v kubectl-calico)" "$(dirname "$(command -v kubectl-calico)")/kubectl_complete-calico"\`
    `,
    examples: [
      ['Complete kubectl-calico in bash', 'source <($0 completion bash)'],
      ['Install the fish completions', '$0 completion fish > ~/.config/fish/completions/kubectl-calico.fish'],
    ],
  });

  shell = Option.String({ name: 'shell' });

  override async execute(): Promise<void> {
    if (!SHELLS.includes(this.shell)) throw new UsageError(`unsupported shell "${this.shell}": expected one of ${SHELLS.join(', ')}`);
    this.context.stdout.write(completionScript(this.shell));
  }
}
