import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { CliError } from '../../src/cli/errors.ts';
import { NoKubeconfigError } from '../../src/kube/errors.ts';
import { resolveKubeConfig, type KubeFlags } from '../../src/kube/kubeconfig.ts';
import { tempDir } from '../helpers.ts';

const flags = (extra: Partial<KubeFlags> = {}): KubeFlags => ({ asGroups: [], insecureSkipTlsVerify: false, ...extra });

function kubeconfig(dir: string, file: string, config: { current?: string; clusters: [string, string][]; users: [string, string][]; contexts: [string, string, string][] }): string {
  const target = path.join(dir, file);
  fs.writeFileSync(target, stringify({
    apiVersion: 'v1', kind: 'Config',
    ...(config.current ? { 'current-context': config.current } : {}),
    clusters: config.clusters.map(([name, server]) => ({ name, cluster: { server } })),
    users: config.users.map(([name, token]) => ({ name, user: { token } })),
    contexts: config.contexts.map(([name, cluster, user]) => ({ name, context: { cluster, user } })),
  }));
  return target;
}

function fixture() {
  const dir = tempDir();
  const first = kubeconfig(dir, 'a', { current: 'prod', clusters: [['prod', 'https://prod:6443'], ['shared', 'https://first:6443']], users: [['admin', 'token-a']], contexts: [['prod', 'prod', 'admin']] });
  const second = kubeconfig(dir, 'b', { current: 'lab', clusters: [['lab', 'https://lab:6443'], ['shared', 'https://second:6443']], users: [['admin', 'token-b'], ['dev', 'token-dev']], contexts: [['lab', 'lab', 'dev'], ['shared', 'shared', 'admin']] });
  return { dir, first, second };
}

test('KUBECONFIG files merge like kubectl: first current-context and first definition of a name win', () => {
  const { first, second } = fixture();
  const resolved = resolveKubeConfig(flags(), { KUBECONFIG: `${first}${path.delimiter}${second}` });
  assert.equal(resolved.contextName, 'prod');
  assert.equal(resolved.cluster.server, 'https://prod:6443');
  const shared = resolveKubeConfig(flags({ context: 'shared' }), { KUBECONFIG: `${first}${path.delimiter}${second}` });
  assert.equal(shared.cluster.server, 'https://first:6443');
  assert.equal(shared.user.token, 'token-a');
});

test('--context picks a context from any of the files; --user and --server override it', () => {
  const { first, second } = fixture();
  const resolved = resolveKubeConfig(flags({ context: 'lab', user: 'admin', server: 'https://override:6443' }), { KUBECONFIG: `${first}${path.delimiter}${second}` });
  assert.equal(resolved.contextName, 'lab');
  assert.equal(resolved.user.token, 'token-a');
  assert.equal(resolved.cluster.server, 'https://override:6443');
});

test('missing files in KUBECONFIG are skipped, as kubectl skips them', () => {
  const { dir, second } = fixture();
  const resolved = resolveKubeConfig(flags(), { KUBECONFIG: `${path.join(dir, 'nope')}${path.delimiter}${second}` });
  assert.equal(resolved.contextName, 'lab');
});

test('a missing context is one clear error that lists the known ones', () => {
  const { first } = fixture();
  assert.throws(() => resolveKubeConfig(flags({ context: 'staging' }), { KUBECONFIG: first }), (error: unknown) => {
    assert.ok(error instanceof CliError);
    assert.match(error.message, /^context "staging" not found in kubeconfig ".*a" \(contexts: prod\)$/);
    return true;
  });
});

test('a --kubeconfig that does not exist is an error, not a fallback', () => {
  assert.throws(() => resolveKubeConfig(flags({ kubeconfig: '/nonexistent/config' }), {}), /kubeconfig file "\/nonexistent\/config" \(--kubeconfig\) does not exist/);
});

test('no kubeconfig anywhere says where it looked', () => {
  assert.throws(() => resolveKubeConfig(flags(), { HOME: tempDir() }), /no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~\/.kube\/config/);
});

test('a malformed kubeconfig names the file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'broken');
  fs.writeFileSync(file, 'clusters: [ {name: x, cluster: {} } ]\ncurrent-context: x\n');
  assert.throws(() => resolveKubeConfig(flags(), { KUBECONFIG: file }), /cannot load kubeconfig ".*broken": clusters\[0\]\.cluster\.server is missing/);
});

test('an empty kubeconfig is one without contexts, as for kubectl; a YAML list is not a kubeconfig', () => {
  const dir = tempDir();
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(empty, '# nothing yet\n');
  assert.throws(() => resolveKubeConfig(flags({ kubeconfig: empty }), {}), (error: unknown) => {
    assert.ok(error instanceof NoKubeconfigError, 'init may go on without a cluster');
    assert.match(error.message, /^no contexts in kubeconfig ".*empty": expected at least one context naming a cluster and a user \(or pass --server\)$/);
    return true;
  });
  const list = path.join(dir, 'list');
  fs.writeFileSync(list, '- a\n- b\n');
  assert.throws(() => resolveKubeConfig(flags({ kubeconfig: list }), {}), /^CliError: kubeconfig ".*list" is not a kubeconfig: expected a mapping with clusters, contexts and users$/);
});

test('--token replaces the kubeconfig credentials; --as impersonates', () => {
  const { first } = fixture();
  const resolved = resolveKubeConfig(flags({ token: 'flag-token', as: 'jane', asGroups: ['ops'] }), { KUBECONFIG: first });
  assert.equal(resolved.user.token, 'flag-token');
  assert.equal(resolved.user.impersonateUser, 'jane');
  assert.deepEqual(resolved.impersonateGroups, ['ops']);
});
