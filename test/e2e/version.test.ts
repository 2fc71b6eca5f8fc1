// `kubectl calico version` and the CLI conventions, through the built binary.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import pkg from '../../package.json' with { type: 'json' };
import { cleanEnv, DIST, kubectl, plugin, run, SHARED_CALICO, tempDir, withCluster } from '../helpers.ts';

test('version --client works with nothing but the binary and /usr/bin, in all formats', async () => {
  const env = { PATH: `${DIST}:/usr/bin`, HOME: tempDir() };
  const text = await run('/usr/bin/env', ['-i', `PATH=${DIST}:/usr/bin`, `HOME=${env.HOME}`, 'kubectl', 'calico', 'version', '--client']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^Plugin: kubectl-calico v${pkg.version} \\(commit \\w+, node v22\\.23\\.2, linux/amd64\\)\\nDefault Calico Version: v3\\.29\\.0\\n$`));
  const json = await plugin(['version', '--client', '-o', 'json'], env);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.apiVersion, 'kubectl-calico/v1alpha1');
  assert.equal(doc.kind, 'Version');
  assert.equal(doc.clientVersion.plugin, 'kubectl-calico');
  assert.equal(doc.clientVersion.version, `v${pkg.version}`);
  assert.equal(doc.defaultCalicoVersion, 'v3.29.0');
  const yaml = await plugin(['version', '--client', '-oyaml'], env);
  assert.deepEqual(parse(yaml.stdout), doc);
});

test('kubectl plugin list shows the plugin without warnings', async () => {
  const result = await run('/usr/bin/env', ['-i', `PATH=${DIST}:/usr/bin`, 'kubectl', 'plugin', 'list']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `The following compatible plugins are available:\n\n${path.join(DIST, 'kubectl-calico')}\n`);
  assert.equal(result.stderr, '');
});

test('help is named for kubectl and lists the commands; each command has examples', async () => {
  const top = await kubectl(['calico', '--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Commands:\n(  \S+ +.+\n)*  version +Print the plugin, Kubernetes and Calico versions\n/);
  assert.match(top.stdout, /\n  status +Show Calico's state at a glance\n/);
  assert.match(top.stdout, /Use "kubectl calico <command> --help"/);
  const version = await kubectl(['calico', 'version', '--help']);
  assert.match(version.stdout, /Examples:\n  # Print the client and cluster versions\n  kubectl calico version\n/);
  assert.match(version.stdout, /--kubeconfig string/);
});

test('a malformed command line is one error line (kubectl style) and exit 2', async () => {
  const unknownFlag = await kubectl(['calico', 'version', '--bogus']);
  assert.equal(unknownFlag.code, 2);
  assert.equal(unknownFlag.stderr, "error: unknown flag: --bogus\nSee 'kubectl calico version --help' for usage.\n");
  const unknownCommand = await kubectl(['calico', 'frobnicate']);
  assert.equal(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, /^error: unknown command "frobnicate" for "kubectl calico"\n/);
  const badOutput = await plugin(['version', '--client', '-o', 'xml']);
  assert.equal(badOutput.code, 2);
  assert.equal(badOutput.stderr, 'error: unable to match a printer suitable for the output format "xml", allowed formats are: json,yaml\n');
  const badVerbosity = await plugin(['version', '--client', '-v', 'loud']);
  assert.equal(badVerbosity.code, 2);
});

// Kubeconfig and server problems, for version as for apply and status: test/e2e/bad-input.test.ts.

test('version against a cluster prints the server version, and the installed Calico once there is one', async () => {
  await withCluster({}, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const before = await kubectl(['calico', 'version'], env);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /\nServer Version: v1\.31\.3\nCalico Version: not installed \(run "kubectl calico init"\)\n$/);
    const manifest = path.join(cluster.kubeconfigPath, '..', 'operator.yaml');
    fs.copyFileSync(path.join(SHARED_CALICO, 'v3.29.0', 'tigera-operator.yaml'), manifest);
    const created = await kubectl(['create', '-f', manifest], env);
    assert.equal(created.code, 0, created.stderr);
    const after = await plugin(['version', '-o', 'json'], env);
    const doc = JSON.parse(after.stdout);
    assert.equal(doc.serverVersion.gitVersion, 'v1.31.3');
    assert.equal(doc.calico.operatorImage, 'quay.io/tigera/operator:v1.36.0');
    assert.equal(doc.calico.version, 'v3.29.0');
    assert.equal(doc.calico.versionSource, 'operator image');
  });
});

test('the context, a token, a client certificate and flags before the command all work as for kubectl', async () => {
  await withCluster({}, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const cert = await kubectl(['calico', '--context', 'cert-admin@kubernetes', 'version', '-o', 'json'], env);
    assert.equal(cert.code, 0, cert.stderr);
    assert.equal(JSON.parse(cert.stdout).serverVersion.gitVersion, 'v1.31.3');
    const badToken = await kubectl(['calico', 'version', '--token', 'expired'], env);
    assert.equal(badToken.code, 1);
    assert.match(badToken.stderr, /^error: You must be logged in to the server \(Unauthorized\)\n$/);
  });
});

test('-v 9 logs requests with the token masked', async () => {
  await withCluster({}, async (cluster) => {
    const result = await plugin(['version', '-v', '9', '--kubeconfig', cluster.kubeconfigPath]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /curl -v -XGET .*-H "Authorization: Bearer <masked>".* 'https:\/\/127\.0\.0\.1:\d+\/version'/);
    assert.match(result.stderr, /GET https:\/\/127\.0\.0\.1:\d+\/version 200 OK in \d+ milliseconds/);
    assert.ok(!result.stderr.includes(cluster.tokens.admin), 'the token must never be printed');
  });
});

test('another kubectl-calico earlier on PATH (calicoctl installs itself so) is reported', async () => {
  const dir = tempDir();
  const other = path.join(dir, 'kubectl-calico');
  fs.writeFileSync(other, '#!/bin/sh\necho calicoctl\n', { mode: 0o755 });
  const result = await plugin(['version', '--client'], { PATH: `${dir}:${DIST}:/usr/bin`, HOME: tempDir() });
  assert.equal(result.code, 0);
  assert.match(result.stderr, new RegExp(`^Warning: ${other} comes first on PATH, so "kubectl calico" runs it instead of this plugin`));
  const shadowed = await plugin(['version', '--client'], { PATH: `${DIST}:${dir}:/usr/bin`, HOME: tempDir() });
  assert.match(shadowed.stderr, new RegExp(`^Warning: ${other} is also on PATH and is shadowed by this plugin`));
});

test('an exec credential plugin in the kubeconfig supplies the token, as for kubectl', async () => {
  await withCluster({}, async (cluster) => {
    const dir = tempDir();
    const script = path.join(dir, 'credential.sh');
    fs.writeFileSync(script, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${cluster.tokens.admin}"}}'\n`, { mode: 0o755 });
    const config = parse(cluster.kubeconfig);
    config.users[0].user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script, interactiveMode: 'Never' } };
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, JSON.stringify(config));
    const result = await plugin(['version', '-o', 'json', '--kubeconfig', kubeconfig]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).serverVersion.gitVersion, 'v1.31.3');
  });
});
