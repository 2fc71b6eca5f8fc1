import type { Logger } from '../cli/logger.ts';
import { KubeClient } from './client.ts';
import { resolveKubeConfig, type KubeFlags } from './kubeconfig.ts';
import { proxyFor } from './proxy.ts';

export interface ConnectOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  timeoutMs: number;
}

/** Builds the client for the selected context; nothing is sent yet. */
export function connect(flags: KubeFlags, options: ConnectOptions): KubeClient {
  const resolved = resolveKubeConfig(flags, options.env);
  const cluster = resolved.kubeConfig.getCurrentCluster()!;
  const proxyUrl = cluster.proxyUrl ?? proxyFor(cluster.server, options.env);
  if (proxyUrl && !cluster.proxyUrl) (cluster as { proxyUrl?: string }).proxyUrl = proxyUrl;
  options.logger.log(6, 'loader.go', `Config loaded from ${resolved.sources.join(', ') || 'command-line flags'}; context "${resolved.contextName}"`);
  return new KubeClient({
    kubeConfig: resolved.kubeConfig,
    server: cluster.server,
    contextName: resolved.contextName,
    userName: resolved.user.name,
    impersonateGroups: resolved.impersonateGroups,
    logger: options.logger,
    timeoutMs: options.timeoutMs,
    proxied: proxyUrl !== undefined,
  });
}
