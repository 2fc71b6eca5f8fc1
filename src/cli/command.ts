import { Command, Option, type BaseContext } from 'clipanion';
import { UsageError } from './errors.ts';
import { parseDuration } from './duration.ts';
import type { KubeFlags } from '../kube/kubeconfig.ts';
import type { KubeClient } from '../kube/client.ts';
import { Logger } from './logger.ts';

export interface CalicoContext extends BaseContext {
  /** How help and errors name us: `kubectl calico` when run as a kubectl plugin. */
  binaryName: string;
}

/** Options every command has. */
export abstract class CalicoCommand extends Command<CalicoContext> {
  verbosity = Option.String('-v,--v', '0', {
    description: 'Log level: 6 logs every API request, 7 adds request headers, 8 response bodies, 9 curl commands (credentials are always masked)',
  });

  color = Option.Boolean('--color', {
    description: 'Colour the output (default: only when stdout is a terminal; NO_COLOR turns it off, FORCE_COLOR on)',
  });

  private cachedLogger: Logger | undefined;

  get logger(): Logger {
    if (!this.cachedLogger) {
      const level = Number(this.verbosity);
      if (!/^\d+$/.test(this.verbosity) || level > 10) {
        throw new UsageError(`invalid value "${this.verbosity}" for -v: expected a number from 0 to 10`);
      }
      this.cachedLogger = new Logger(level, this.context.stderr);
    }
    return this.cachedLogger;
  }
}

/** Options of every command that talks to a cluster, named as kubectl names them. */
export abstract class ClusterCommand extends CalicoCommand {
  kubeconfig = Option.String('--kubeconfig', { description: 'Path to the kubeconfig file to use (default: $KUBECONFIG, else ~/.kube/config)' });
  kubeContext = Option.String('--context', { description: 'The name of the kubeconfig context to use' });
  kubeCluster = Option.String('--cluster', { description: 'The name of the kubeconfig cluster to use' });
  kubeUser = Option.String('--user', { description: 'The name of the kubeconfig user to use' });
  server = Option.String('-s,--server', { description: 'The address and port of the Kubernetes API server' });
  token = Option.String('--token', { description: 'Bearer token for authentication to the API server' });
  as = Option.String('--as', { description: 'Username to impersonate for the operation' });
  asGroup = Option.Array('--as-group', { description: 'Group to impersonate for the operation (repeatable)' });
  certificateAuthority = Option.String('--certificate-authority', { description: 'Path to a cert file for the certificate authority' });
  insecureSkipTlsVerify = Option.Boolean('--insecure-skip-tls-verify', false, {
    description: "Don't check the server's certificate (insecure)",
  });
  tlsServerName = Option.String('--tls-server-name', { description: 'Server name to use for server certificate validation' });
  requestTimeout = Option.String('--request-timeout', '30s', {
    description: 'How long to wait for a single API request before giving up (0 means no limit)',
  });

  protected kubeFlags(): KubeFlags {
    return {
      kubeconfig: this.kubeconfig,
      context: this.kubeContext,
      cluster: this.kubeCluster,
      user: this.kubeUser,
      server: this.server,
      token: this.token,
      as: this.as,
      asGroups: this.asGroup ?? [],
      certificateAuthority: this.certificateAuthority,
      insecureSkipTlsVerify: this.insecureSkipTlsVerify,
      tlsServerName: this.tlsServerName,
    };
  }

  protected requestTimeoutMs(): number {
    return parseDuration(this.requestTimeout, '--request-timeout');
  }

  /** Connects lazily: the Kubernetes client is only loaded by commands that need it. */
  protected async kube(): Promise<KubeClient> {
    const timeoutMs = this.requestTimeoutMs();
    const { connect } = await import('../kube/connect.ts');
    return connect(this.kubeFlags(), { env: this.context.env, logger: this.logger, timeoutMs });
  }
}

/** The first name of every option above, to list them apart in help. */
export const CLUSTER_FLAGS: ReadonlySet<string> = new Set([
  '-v', '--color', '--kubeconfig', '--context', '--cluster', '--user', '-s', '--token', '--as', '--as-group',
  '--certificate-authority', '--insecure-skip-tls-verify', '--tls-server-name', '--request-timeout',
]);
