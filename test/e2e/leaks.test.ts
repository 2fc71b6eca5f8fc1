// No secret leaves the plugin: at -v 9 every command's output is free of the
// token, the client key and the client certificate; the files it writes are
// not world-writable even under umask 000; it never follows a symlink out of --dir.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { cleanEnv, kubectl, run, SHARED_CALICO, tempDir, withCluster, type Result } from '../helpers.ts';

const V3290 = path.join(SHARED_CALICO, 'v3.29.0');

/** Every form a credential could be printed in: as written in the kubeconfig, decoded, and each PEM body line. */
function secretForms(kubeconfig: string, token: string): string[] {
  const user = (parse(kubeconfig) as { users: { name: string; user: Record<string, string> }[] }).users.find((u) => u.name === 'cert-admin')!.user;
  const forms = [token];
  for (const key of ['client-certificate-data', 'client-key-data']) {
    const encoded = user[key]!;
    const pem = Buffer.from(encoded, 'base64').toString('utf8');
    forms.push(encoded, ...pem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----')));
  }
  return forms;
}

function assertNoSecret(result: Result, secrets: string[], what: string): void {
  const output = result.stdout + result.stderr;
  for (const secret of secrets) assert.ok(!output.includes(secret), `${what} printed a credential (${secret.slice(0, 8)}…)`);
  assert.doesNotMatch(output, /PRIVATE KEY/, what);
}

test('at -v 9, init, apply, wait, status and doctor print requests but no token, client key or certificate', async () => {
  await withCluster({}, async (cluster) => {
    const secrets = secretForms(cluster.kubeconfig, cluster.tokens.admin);
    for (const context of ['kubernetes-admin@kubernetes', 'cert-admin@kubernetes']) {
      const home = tempDir('leaks-');
      const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
      const dir = path.join(home, 'calico');
      const commands = [
        ['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', dir],
        ['apply', '--dir', dir],
        ['wait', '--timeout', '45s'],
        ['status'],
        ['status', '-o', 'json'],
        ['doctor'],
        ['version', '-o', 'yaml'],
      ];
      for (const args of commands) {
        const result = await kubectl(['calico', '--context', context, '-v', '9', ...args], env);
        assert.equal(result.code, 0, `${args[0]}: ${result.stderr.slice(-500)}`);
        assert.match(result.stderr, /GET https:\/\/127\.0\.0\.1:\d+\/\S+ 200 OK/, `${args[0]} logs its requests at -v 9`);
        assertNoSecret(result, secrets, `${context} ${args.join(' ')}`);
      }
    }
  });
});

test('an unauthorized request at -v 9 names the failure and not the token', async () => {
  await withCluster({}, async (cluster) => {
    const result = await kubectl(['calico', '-v', '9', 'status', '--token', 'not-the-right-token-0123456789'], cleanEnv({ KUBECONFIG: cluster.kubeconfigPath }));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: You must be logged in to the server \(Unauthorized\)$/m);
    assertNoSecret(result, ['not-the-right-token-0123456789', cluster.tokens.admin], 'status with a bad token');
  });
});

function modes(root: string): { file: string; mode: number }[] {
  return fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).map((name) => path.join(root, name))
    .concat(root).map((file) => ({ file, mode: fs.lstatSync(file).mode & 0o777 }));
}

test('under umask 000, nothing the plugin writes (folder, cache, applied record) is world-writable', async () => {
  await withCluster({}, async (cluster) => {
    const home = tempDir('leaks-');
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
    const dir = path.join(home, 'calico');
    for (const args of [['init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', dir], ['apply', '--dir', dir]]) {
      const result = await run('/bin/sh', ['-c', 'umask 000 && exec kubectl calico "$@"', 'sh', ...args], { env });
      assert.equal(result.code, 0, result.stderr);
    }
    const written = [...modes(dir), ...modes(path.join(home, 'cache', 'kubectl-calico'))];
    assert.ok(written.some((w) => w.file.endsWith('.kubectl-calico-applied.json')) && written.some((w) => w.file.includes(`${path.sep}objects${path.sep}`)), written.map((w) => w.file).join('\n'));
    for (const { file, mode } of written) assert.equal(mode & 0o002, 0, `${file} is mode ${mode.toString(8)}`);
  });
});

test('a symlink in --dir pointing out of it is neither written through (init) nor read (apply)', async () => {
  const home = tempDir('leaks-');
  const env = cleanEnv({ HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
  const outside = path.join(home, 'outside.yaml');
  fs.writeFileSync(outside, 'precious: true\n');
  const dir = path.join(home, 'calico');
  fs.mkdirSync(dir);
  fs.symlinkSync(outside, path.join(dir, 'custom-resources.yaml'));
  const init = await kubectl(['calico', 'init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', dir, '--overwrite'], env);
  assert.equal(init.code, 1);
  assert.ok(init.stderr.endsWith(`\nerror: ${path.join(dir, 'custom-resources.yaml')} is a symbolic link; refusing to write through it\n`), init.stderr);
  assert.equal(fs.readFileSync(outside, 'utf8'), 'precious: true\n');
  assert.deepEqual(fs.readdirSync(dir), ['custom-resources.yaml'], 'nothing else was written either');

  // A folder init wrote, whose operator manifest is then swapped for a link to an identical copy elsewhere.
  const good = path.join(home, 'good');
  assert.equal((await kubectl(['calico', 'init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', V3290, '--dir', good], env)).code, 0);
  const copy = path.join(home, 'elsewhere.yaml');
  fs.copyFileSync(path.join(good, 'tigera-operator.yaml'), copy);
  fs.rmSync(path.join(good, 'tigera-operator.yaml'));
  fs.symlinkSync(copy, path.join(good, 'tigera-operator.yaml'));
  const apply = await kubectl(['calico', 'apply', '--dir', good, '--dry-run=client'], env);
  assert.equal(apply.code, 1);
  assert.equal(apply.stderr, `error: ${path.join(good, 'tigera-operator.yaml')} is a symbolic link out of ${good}; refusing to read through it\n`);

  // The plan itself, swapped for a link to an identical copy elsewhere, is not read either.
  fs.rmSync(path.join(good, 'tigera-operator.yaml'));
  fs.copyFileSync(copy, path.join(good, 'tigera-operator.yaml'));
  const planCopy = path.join(home, 'plan.yaml');
  fs.renameSync(path.join(good, 'kubectl-calico.yaml'), planCopy);
  fs.symlinkSync(planCopy, path.join(good, 'kubectl-calico.yaml'));
  const planLink = await kubectl(['calico', 'apply', '--dir', good, '--dry-run=client'], env);
  assert.equal(planLink.code, 1);
  assert.equal(planLink.stderr, `error: ${path.join(good, 'kubectl-calico.yaml')} is a symbolic link out of ${good}; refusing to read through it\n`);
});
