import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { load } from 'js-yaml';
import { newClusters, newContexts, newUsers, type Cluster, type Context, type User } from '@kubernetes/client-node/dist/config_types.js';
import { CliError } from '../cli/errors.ts';
import { NoKubeconfigError } from './errors.ts';

/** kubectl's connection flags, as given on the command line. */
export interface KubeFlags {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  cluster?: string | undefined;
  user?: string | undefined;
  server?: string | undefined;
  token?: string | undefined;
  as?: string | undefined;
  asGroups: string[];
  certificateAuthority?: string | undefined;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string | undefined;
}

/** The one cluster/user pair a command talks to, after kubeconfig files and flags are combined. */
export interface ResolvedKubeConfig {
  kubeConfig: KubeConfig;
  contextName: string;
  cluster: Cluster;
  user: User;
  impersonateGroups: string[];
  /** Where the configuration came from, for error messages. */
  sources: string[];
}

/**
 * Resolves the configuration like kubectl: --kubeconfig, else every file in
 * KUBECONFIG merged (first definition of a name wins, first non-empty
 * current-context wins, missing files are skipped), else ~/.kube/config;
 * then --context/--cluster/--user select and the other flags override.
 */
export function resolveKubeConfig(flags: KubeFlags, env: NodeJS.ProcessEnv): ResolvedKubeConfig {
  const sources = configFiles(flags, env);
  const merged = mergeFiles(sources);
  const contextName = flags.context ?? merged.currentContext;
  const context = pickContext(merged, contextName, flags, sources);
  const cluster = overrideCluster(pickCluster(merged, flags.cluster ?? context.cluster, flags, sources), flags);
  const user = overrideUser(pickUser(merged, flags.user ?? context.user), flags);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [user],
    contexts: [{ name: context.name, cluster: cluster.name, user: user.name, namespace: context.namespace }],
    currentContext: context.name,
  });
  return { kubeConfig, contextName: context.name, cluster, user, impersonateGroups: flags.asGroups, sources };
}

function configFiles(flags: KubeFlags, env: NodeJS.ProcessEnv): string[] {
  if (flags.kubeconfig !== undefined) {
    if (!fs.existsSync(flags.kubeconfig)) throw new CliError(`kubeconfig file "${flags.kubeconfig}" (--kubeconfig) does not exist`);
    return [flags.kubeconfig];
  }
  if (env.KUBECONFIG) {
    return env.KUBECONFIG.split(path.delimiter).filter((file) => file !== '' && fs.existsSync(file));
  }
  const home = path.join(env.HOME ?? env.USERPROFILE ?? os.homedir(), '.kube', 'config');
  return fs.existsSync(home) ? [home] : [];
}

function mergeFiles(files: string[]): KubeConfig {
  const merged = new KubeConfig();
  for (const file of files) {
    const config = loadFile(file);
    merged.currentContext ||= config.currentContext;
    for (const cluster of config.clusters) if (!merged.getCluster(cluster.name)) merged.clusters.push(cluster);
    for (const user of config.users) if (!merged.getUser(user.name)) merged.users.push(user);
    for (const context of config.contexts) if (!merged.getContextObject(context.name)) merged.contexts.push(context);
  }
  return merged;
}

function loadFile(file: string): KubeConfig {
  const config = new KubeConfig();
  let text: string;
  let document: unknown;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read kubeconfig "${file}": ${(error as NodeJS.ErrnoException).code ?? firstLine(error)}`);
  }
  // An empty file (or only comments) is an empty kubeconfig, as for kubectl.
  if (text.replace(/^\s*#.*$/gm, '').trim() === '') return config;
  try {
    document = load(text);
  } catch (error) {
    throw new CliError(`kubeconfig "${file}" is not valid YAML: ${firstLine(error)}`);
  }
  // A list or a scalar would otherwise load silently as an empty kubeconfig.
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new CliError(`kubeconfig "${file}" is not a kubeconfig: expected a mapping with clusters, contexts and users`);
  }
  try {
    // What client-node's loadFromString does, on the document parsed once above.
    const { clusters, contexts, users, 'current-context': currentContext } = document as Record<string, unknown>;
    config.clusters = newClusters(clusters);
    config.contexts = newContexts(contexts);
    config.users = newUsers(users);
    config.currentContext = currentContext as string;
    config.makePathsAbsolute(path.dirname(file));
  } catch (error) {
    throw new CliError(`cannot load kubeconfig "${file}": ${firstLine(error)}`);
  }
  return config;
}

function pickContext(merged: KubeConfig, name: string | undefined, flags: KubeFlags, sources: string[]): Context {
  if (name) {
    const context = merged.getContextObject(name);
    if (context) return context;
    if (flags.context !== undefined || !flags.server) {
      const known = merged.contexts.map((c) => c.name);
      throw new CliError(`context "${name}" not found in ${describeSources(sources)}${known.length ? ` (contexts: ${known.join(', ')})` : ''}`);
    }
  }
  if (flags.server) return { name: name ?? '', cluster: flags.cluster ?? '', user: flags.user ?? '' };
  if (sources.length === 0) {
    throw new NoKubeconfigError('no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config (or pass --server)');
  }
  const known = merged.contexts.map((c) => c.name);
  if (known.length === 0) throw new NoKubeconfigError(`no contexts in ${describeSources(sources)}: expected at least one context naming a cluster and a user (or pass --server)`);
  throw new CliError(`no current context in ${describeSources(sources)}: pass --context (contexts: ${known.join(', ')})`);
}

function pickCluster(merged: KubeConfig, name: string, flags: KubeFlags, sources: string[]): Cluster {
  const cluster = merged.getCluster(name);
  if (cluster) return cluster;
  if (flags.server) return { name: name || 'server', server: flags.server, skipTLSVerify: false };
  const known = merged.clusters.map((c) => c.name);
  throw new CliError(`cluster "${name}" not found in ${describeSources(sources)} (${known.length ? `clusters: ${known.join(', ')}` : 'it defines no clusters'})`);
}

function pickUser(merged: KubeConfig, name: string): User {
  // kubectl treats a missing user as anonymous; so do we.
  return merged.getUser(name) ?? { name: name || 'anonymous' };
}

function overrideCluster(cluster: Cluster, flags: KubeFlags): Cluster {
  const result: Cluster = { ...cluster };
  const mutable = result as { -readonly [K in keyof Cluster]: Cluster[K] };
  if (flags.server) mutable.server = flags.server.replace(/\/$/, '');
  if (flags.certificateAuthority) {
    mutable.caFile = path.resolve(flags.certificateAuthority);
    delete mutable.caData;
  }
  if (flags.insecureSkipTlsVerify) mutable.skipTLSVerify = true;
  if (flags.tlsServerName) mutable.tlsServerName = flags.tlsServerName;
  return result;
}

function overrideUser(user: User, flags: KubeFlags): User {
  const mutable: { -readonly [K in keyof User]: User[K] } = { ...user };
  if (flags.token) {
    // A token on the command line replaces the kubeconfig's own credentials plugin or token.
    mutable.token = flags.token;
    delete mutable.exec;
    delete mutable.authProvider;
    delete mutable.username;
    delete mutable.password;
  }
  if (flags.as) mutable.impersonateUser = flags.as;
  return mutable;
}

function describeSources(sources: string[]): string {
  if (sources.length === 0) return 'the kubeconfig';
  return sources.length === 1 ? `kubeconfig "${sources[0]}"` : `kubeconfig files ${sources.map((s) => `"${s}"`).join(', ')}`;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]!;
}
