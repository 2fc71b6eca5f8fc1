// No Secret's data in a -v 9 log: at -v 8 and above every response body is
// logged, and diags lists the Secrets of the Calico namespaces (to name their
// keys) while apply asks whether the Installation's pull secrets exist. A
// Secret's body is logged as its size only; apply asks for a pull secret as a
// Table without the object, so not even its annotations (where a client-side
// apply keeps a copy of the data) come back.
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import yaml from 'yaml';
import { cleanEnv, kubectl, SHARED_CALICO, tempDir, withCluster } from '../helpers.ts';

/** A value as it could be printed: raw, or base64 (as a Secret's data holds it) at each alignment. */
function forms(value: string): string[] {
  return [value, ...[0, 1, 2].map((shift) => Buffer.from('\0'.repeat(shift) + value).toString('base64').replace(/=+$/, '').slice(shift ? 4 : 0, -4))];
}

test('at -v 9, diags and apply log request and response bodies but no Secret data', async () => {
  await withCluster({ calico: 'v3.29.0' }, async (cluster) => {
    const home = tempDir('verbose-');
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') });
    const opaque = `opaque-${randomBytes(12).toString('hex')}`;
    const pull = `pull-${randomBytes(12).toString('hex')}`;
    const manifest = path.join(home, 'secret.yaml');
    fs.writeFileSync(manifest, yaml.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted', namespace: 'calico-system' }, type: 'Opaque', stringData: { password: opaque } }));
    assert.equal((await kubectl(['apply', '-f', manifest], env)).code, 0, 'applied client-side: the last-applied annotation holds the value');
    const created = await kubectl(['create', 'secret', 'docker-registry', 'mirror-pull', '-n', 'tigera-operator', '--docker-server=mirror.example.com:5000', '--docker-username=u', `--docker-password=${pull}`, '--save-config'], env);
    assert.equal(created.code, 0, created.stderr);

    const diags = await kubectl(['calico', 'diags', '-v', '9', '--no-node-data', '--output-file', path.join(home, 'b.tar.gz')], env);
    assert.equal(diags.code, 0, diags.stderr.slice(-500));
    assert.match(diags.stderr, /Response Body: <masked: \d+ bytes of Secret data>/, 'the Secret lists were read and masked');
    assert.match(diags.stderr, /Response Body: \{"kind":"PodList"/, 'other bodies are logged');

    const dir = path.join(home, 'calico');
    const init = await kubectl(['calico', 'init', '--pod-cidr', '10.97.0.0/16', '--manifests-from', path.join(SHARED_CALICO, 'v3.29.0'), '--dir', dir, '--registry', 'mirror.example.com:5000', '--image-pull-secret', 'mirror-pull'], env);
    assert.equal(init.code, 0, init.stderr);
    const apply = await kubectl(['calico', 'apply', '-v', '9', '--dir', dir, '--dry-run=server'], env);
    assert.match(apply.stderr, /curl -v -XGET .*-H "Accept: application\/json;as=Table;v=v1;g=meta\.k8s\.io" .*'https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/tigera-operator\/secrets\/mirror-pull\?includeObject=None'/, 'the pull secret is asked for as a Table without the object');
    assert.match(apply.stderr, /GET https:\/\/\S+\/secrets\/mirror-pull\?includeObject=None 200 OK/);

    for (const [what, output] of [['diags', diags.stderr + diags.stdout], ['apply', apply.stderr + apply.stdout]]) {
      for (const value of [opaque, pull]) for (const form of forms(value)) assert.ok(!output!.includes(form), `${what} -v 9 printed a Secret's data (${form.slice(0, 12)}…)`);
    }
  });
});
