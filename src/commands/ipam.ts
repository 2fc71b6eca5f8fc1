import { Command } from 'clipanion';
import { IpamShowCommand } from './ipam-show.ts';

/** `ipam` alone shows, as `ipam show` (a class of its own: the command line finds commands by their first path). */
export class IpamCommand extends IpamShowCommand {
  static override paths = [['ipam']];

  static override usage = Command.Usage({ ...IpamShowCommand.usage, description: 'How full each IP pool is (ipam show)' });
}
