// `kubectl calico diags` through real kubectl against the test cluster: a
// healthy cluster's bundle holds every item and its index's sha256s verify;
// planted secrets (a Secret applied client-side, so that its
// last-applied-configuration holds the value; a ConfigMap holding a private
// key; a pod env API_TOKEN literal) are absent from the decompressed archive
// raw, base64-encoded at every alignment, JSON- and YAML-escaped; a log larger
// than --max-log-bytes keeps its last lines; a broken cluster's bundle
// carries the cause (ImagePullBackOff events, a crash loop's previous log,
// BIRD's table with a session down); the read-only user gets a partial
// bundle that lists what it skipped; Ctrl-C leaves no file behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import yaml from 'yaml';
import { ManualClock } from '../cluster/clock.ts';
import { BINARY, cleanEnv, eventually, initialized, kubectl, ROOT, run, SHARED_CALICO, tempDir, withCluster } from '../helpers.ts';

const MASTER = 'kubernetes-master-01';
const W1 = 'kubernetes-worker-01';
const W2 = 'kubernetes-worker-02';

interface Index {
  uncollected: number;
  logsLeftOut: number;
  files: { path: string; sha256: string; bytes: number; producer: string; truncatedBytes?: number }[];
}

/** Extracts the archive with tar(1) and reads its index. */
async function unpack(archive: string): Promise<{ root: string; index: Index; read: (file: string) => string }> {
  const into = tempDir('diags-out-');
  const extracted = await run('/bin/tar', ['-xzf', archive, '-C', into]);
  assert.equal(extracted.code, 0, extracted.stderr);
  const [top] = fs.readdirSync(into);
  const root = path.join(into, top!);
  const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
  return { root, index: yaml.parse(read('index.yaml')) as Index, read };
}

/** Every form a value could leak in: raw, base64 at each of the three alignments, JSON- and YAML-escaped. */
function encodings(value: string): string[] {
  const forms = [value, JSON.stringify(value).slice(1, -1), yaml.stringify(value, { defaultStringType: 'QUOTE_DOUBLE' }).trim().slice(1, -1)];
  for (let shift = 0; shift < 3; shift++) {
    // The characters that encode only the value's own bytes: the first and last groups also carry what surrounds it.
    const b64 = Buffer.from('\0'.repeat(shift) + value).toString('base64').replace(/=+$/, '');
    forms.push(b64.slice(shift ? 4 : 0, -4));
  }
  // A multi-line value (the key) could also be cut where YAML folds it: each of its long lines on its own.
  forms.push(...value.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----')));
  return forms;
}

const calicoDiags = (env: NodeJS.ProcessEnv, ...args: string[]) => kubectl(['calico', 'diags', ...args], env);

test('diags: a healthy bundle holds every item, its index verifies, planted secrets are absent in every encoding, and a log over --max-log-bytes keeps its end', async () => {
  await withCluster({ calico: 'v3.29.0' }, async (cluster) => {
    const { env, dir } = await initialized(cluster);
    const secretValue = `s3cr3t-${randomBytes(12).toString('hex')}`;
    const token = `tok-${randomBytes(16).toString('hex')}`;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // Credentials under credential names (ConfigMap keys, env names), inside values (a URL, an INI file, JSON), and in
    // a container's log (key=value pairs, JSON, basic auth, a flag, a URL, a whole private key, and one whose BEGIN
    // the --max-log-bytes run below cuts off).
    const value = (what: string) => `${what}-${randomBytes(9).toString('hex')}`;
    const planted = Object.fromEntries(['cm-password', 'cm-db-password', 'ini', 'url', 'json', 'env-db-pass', 'env-credentials', 'env-auth', 'proxy', 'log-password', 'log-token', 'log-json', 'log-basic', 'log-url', 'log-flag'].map((k) => [k, value(k)]));
    const body = (length: number) => randomBytes(length).toString('base64').replace(/[+/=]/g, 'A').slice(0, length);
    const logKey = ['-----BEGIN PRIVATE KEY-----', body(64), body(64), body(40), '-----END PRIVATE KEY-----'];
    const cutKey = ['-----BEGIN PRIVATE KEY-----', body(64), body(64), body(20), '-----END PRIVATE KEY-----'];
    const credentialEnv = [{ name: 'DB_PASS', value: planted['env-db-pass'] }, { name: 'CREDENTIALS', value: planted['env-credentials'] }, { name: 'AUTH', value: planted['env-auth'] }, { name: 'HTTPS_PROXY', value: `http://alice:${planted.proxy}@proxy:3128` }];
    const manifest = path.join(tempDir('plant-'), 'planted.yaml');
    fs.writeFileSync(manifest, yaml.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted', namespace: 'calico-system', annotations: { note: 'planted' } }, type: 'Opaque', stringData: { password: secretValue } })
      + '---\n' + yaml.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'planted-key', namespace: 'calico-system' }, data: { 'tls.key': keyPem, harmless: 'mtu: 1450' } })
      + '---\n' + yaml.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'planted-env', namespace: 'calico-system' }, spec: { hostNetwork: true, nodeName: W1, containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', env: [{ name: 'API_TOKEN', value: token }, { name: 'LOG_LEVEL', value: 'info' }, { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'planted', key: 'password' } } }, ...credentialEnv] }] } }));
    fs.appendFileSync(manifest, '---\n' + yaml.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'planted-creds', namespace: 'calico-system' }, data: {
      password: planted['cm-password'], DB_PASSWORD: planted['cm-db-password'], 'config.ini': `[db]\ndb_password = ${planted.ini}\n`,
      DATABASE_URL: `postgres://admin:${planted.url}@db:5432/calico`, 'settings.json': JSON.stringify({ auth: { password: planted.json } }), tokenExpirationSeconds: '3600',
    } }));
    const applied = await kubectl(['apply', '-f', manifest], env);
    assert.equal(applied.code, 0, applied.stderr);
    await eventually(() => (cluster.api.store.get('pods', 'calico-system', 'planted-env')?.status as { phase?: string } | undefined)?.phase === 'Running' || undefined);
    for (const line of [
      `level=info msg="connecting to the datastore" password=${planted['log-password']} token=${planted['log-token']} user=calico`,
      `{"level":"info","msg":"config","password":"${planted['log-json']}"}`,
      `GET /v2/ Authorization: Basic ${Buffer.from(`admin:${planted['log-basic']}`).toString('base64')}`,
      `dial postgres://admin:${planted['log-url']}@db:5432/calico: connection refused`,
      `exec /bin/app --db-password=${planted['log-flag']} --v=2`,
      ...logKey, ...cutKey,
    ]) cluster.runtime.logs.append('calico-system', 'planted-env', 'app', line, cluster.runtime.clock.now());
    const stored = cluster.api.store.get('secrets', 'calico-system', 'planted')!;
    assert.match(stored.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']!, new RegExp(secretValue), 'client-side apply kept the value in the annotation');

    const out = path.join(tempDir('diags-'), 'bundle.tar.gz');
    const result = await calicoDiags(env, '--dir', dir, '--output-file', out);
    assert.equal(result.code, 0, result.stderr);
    const lastLine = result.stdout.trim().split('\n').at(-1)!;
    assert.match(lastLine, new RegExp(`^Wrote ${out.replaceAll('.', '\\.')}: [\\d.]+ KiB, \\d+ files, (\\d+) items? not collected$`));
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['bundle.tar.gz'], 'no temporary file left');

    // Nothing planted, in any form, anywhere in the decompressed archive.
    const tarBytes = zlib.gunzipSync(fs.readFileSync(out)).toString('latin1');
    const leaks: [string, string][] = [['secret value', secretValue], ['private key', keyPem], ['API_TOKEN', token], ...Object.entries(planted), ['the key in the log', logKey.join('\n')], ['the cut key', cutKey.join('\n')]];
    for (const [what, value] of leaks) {
      for (const form of encodings(value)) assert.ok(!tarBytes.includes(form), `${what} found in the archive as ${JSON.stringify(form.slice(0, 40))}: ${tarBytes.slice(Math.max(0, tarBytes.indexOf(form) - 600), tarBytes.indexOf(form) + 100)}`);
    }
    assert.ok(!tarBytes.includes(cluster.tokens.admin), 'the kubeconfig\'s token is not in the bundle');

    const { index, read, root } = await unpack(out);
    for (const file of index.files) assert.equal(createHash('sha256').update(fs.readFileSync(path.join(root, file.path))).digest('hex'), file.sha256, file.path);
    const paths = new Set(index.files.map((f) => f.path));
    const calicoNode = cluster.api.store.list('pods', 'calico-system').find((p) => p.metadata.labels?.['k8s-app'] === 'calico-node' && (p.spec as { nodeName: string }).nodeName === W1)!.metadata.name;
    const expected = [
      'summary/status.yaml', 'summary/doctor.json', 'summary/version.yaml', 'diags.log',
      'cluster/nodes.json', 'cluster/warning-events.json', 'cluster/crds.yaml', 'cluster/networkpolicies.json',
      'operator.tigera.io/installations.json', 'operator.tigera.io/apiservers.json', 'operator.tigera.io/tigerastatuses.json',
      'crd.projectcalico.org/ippools.json', 'crd.projectcalico.org/ipamblocks.json', 'crd.projectcalico.org/blockaffinities.json', 'crd.projectcalico.org/ipamhandles.json',
      'crd.projectcalico.org/felixconfigurations.json', 'crd.projectcalico.org/bgpconfigurations.json', 'crd.projectcalico.org/bgppeers.json', 'crd.projectcalico.org/globalnetworkpolicies.json',
      ...['tigera-operator', 'calico-system', 'calico-apiserver'].flatMap((ns) => ['deployments', 'daemonsets', 'replicasets', 'pods', 'services', 'endpointslices', 'serviceaccounts', 'configmaps', 'secrets', 'events'].map((r) => `namespaces/${ns}/${r}.json`)),
      'kube-system/coredns-pods.json', 'kube-system/kube-proxy-pods.json', 'kube-system/kubeadm-config.yaml', 'kube-system/kube-proxy-config.yaml',
      'local/kubectl-calico.yaml',
      `namespaces/calico-system/logs/${calicoNode}/calico-node.log`, `namespaces/calico-system/logs/${calicoNode}/install-cni.log`,
      ...['bird-protocols.txt', 'bird-routes.txt', 'calico-node-show-status.txt', 'ip-4-route.txt', 'ip-6-route.txt', 'ip-rule.txt', 'ip-link.txt', 'ip-addr.txt', 'ip-neigh.txt', 'ipset-list.txt', 'iptables-legacy-save.txt', 'iptables-nft-save.txt', 'nft-list-ruleset.txt', 'cni-net.d.txt'].flatMap((f) => [MASTER, W1, W2].map((n) => `nodes/${n}/${f}`)),
    ];
    for (const file of expected) assert.ok(paths.has(file), `${file} is in the bundle`);
    assert.ok(index.files.some((f) => /^kube-system\/logs\/coredns-[^/]+\/coredns\.log$/.test(f.path)), 'CoreDNS logs');
    assert.match(index.files.find((f) => f.path === 'cluster/warning-events.json')!.producer, /\(the API server keeps events for one hour by default/);
    assert.match(read(`nodes/${W1}/bird-protocols.txt`), /Mesh_192_168_56_11 +BGP +master +up .*Established/);
    assert.match(read(`nodes/${W1}/cni-net.d.txt`), /^-rw-r--r-- 1 root root +\d+ \w{3} [ \d]\d \d\d:\d\d 10-calico\.conflist$/m);
    assert.match(read(`nodes/${W1}/iptables-nft-save.txt`), /^\*filter$/m);
    assert.equal(read(`nodes/${W1}/iptables-legacy-save.txt`), '', 'the backend Felix does not use prints nothing');
    assert.equal(JSON.parse(read('summary/doctor.json')).kind, 'DoctorReport');
    assert.equal(yaml.parse(read('summary/status.yaml')).state, 'Available');
    assert.match(read('kube-system/kubeadm-config.yaml'), /podSubnet: 10\.97\.0\.0\/16/);

    // What is kept of the planted objects: the Secret's name, type and key names; the key's size; the env reference.
    const secrets = JSON.parse(read('namespaces/calico-system/secrets.json')).items as object[];
    assert.deepEqual(secrets.find((s) => (s as { metadata: { name: string } }).metadata.name === 'planted'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted', namespace: 'calico-system' }, type: 'Opaque', keys: ['password'] });
    const configMap = (JSON.parse(read('namespaces/calico-system/configmaps.json')).items as { metadata: { name: string }; data: Record<string, string> }[]).find((c) => c.metadata.name === 'planted-key')!;
    assert.deepEqual(configMap.data, { 'tls.key': `<redacted: ${Buffer.byteLength(keyPem)} bytes>`, harmless: 'mtu: 1450' });
    const pod = (JSON.parse(read('namespaces/calico-system/pods.json')).items as { metadata: { name: string; annotations?: object; managedFields?: object }; spec: { containers: { env: object[] }[] } }[]).find((p) => p.metadata.name === 'planted-env')!;
    assert.deepEqual(pod.spec.containers[0]!.env, [{ name: 'API_TOKEN', value: `<redacted: ${token.length} bytes>` }, { name: 'LOG_LEVEL', value: 'info' }, { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'planted', key: 'password' } } }, ...credentialEnv.map((e) => ({ name: e.name, value: `<redacted: ${e.value!.length} bytes>` }))]);
    assert.equal(pod.metadata.managedFields, undefined);
    const creds = (JSON.parse(read('namespaces/calico-system/configmaps.json')).items as { metadata: { name: string }; data: Record<string, string> }[]).find((c) => c.metadata.name === 'planted-creds')!;
    assert.equal(creds.data.tokenExpirationSeconds, '3600', 'a look-alike is kept');
    assert.match(creds.data.password!, /^<redacted: \d+ bytes>$/);
    const appLog = read('namespaces/calico-system/logs/planted-env/app.log');
    assert.match(appLog, /^level=info msg="connecting to the datastore" password=<redacted: \d+ bytes> token=<redacted: \d+ bytes> user=calico$/m, 'the line around a credential is kept');
    assert.match(appLog, /^dial postgres:\/\/admin:<redacted: \d+ bytes>@db:5432\/calico: connection refused$/m);
    assert.doesNotMatch(read('diags.log'), /unexpected error/, 'no item failed for a bug of the plugin');
    assert.ok(!read('namespaces/calico-system/pods.json').includes('last-applied-configuration'));

    // --max-log-bytes: the newest bytes, from a line's start; the index says how much was left out.
    const small = path.join(path.dirname(out), 'small.tar.gz');
    const tail = await calicoDiags(env, '--output-file', small, '--max-log-bytes', '60', '--no-node-data');
    assert.equal(tail.code, 0, tail.stderr);
    const cut = await unpack(small);
    const log = cut.read(`namespaces/calico-system/logs/${calicoNode}/calico-node.log`);
    assert.equal(log, 'calico-node: ready to serve\n', 'the last line, whole');
    assert.ok(cut.index.files.find((f) => f.path.endsWith(`${calicoNode}/calico-node.log`))!.truncatedBytes! > 0);
    assert.ok(!cut.index.files.some((f) => f.path.startsWith('nodes/')));
    // The app's log kept from inside the second key: the body lines left without their BEGIN are redacted too.
    assert.match(cut.read('namespaces/calico-system/logs/planted-env/app.log'), /^<redacted: \d+ bytes>\n$/);
    const cutBytes = zlib.gunzipSync(fs.readFileSync(small)).toString('latin1');
    for (const line of cutKey.slice(1, -1)) assert.ok(!cutBytes.includes(line), `a body line of the cut key (${line.slice(0, 8)}…) is in the archive`);

    // --max-total-bytes below what the resources take: every log is left out, said in one warning and one line of diags.log.
    const none = path.join(path.dirname(out), 'none.tar.gz');
    const budget = await calicoDiags(env, '--output-file', none, '--max-total-bytes', '1', '--no-node-data');
    assert.equal(budget.code, 0, budget.stderr);
    const left = Number(/^Warning: (\d+) logs left out: the archive reached --max-total-bytes \(1\); diags\.log says which$/m.exec(budget.stderr)?.[1]);
    assert.ok(left > 10, budget.stderr);
    assert.doesNotMatch(budget.stderr, /logs\/.*not collected/, 'no line per log left out');
    const noLogs = await unpack(none);
    assert.equal(noLogs.index.logsLeftOut, left);
    assert.ok(!noLogs.index.files.some((f) => f.path.includes('/logs/')));
    assert.equal(noLogs.read('diags.log').match(/logs left out: /g)?.length, 1);
  });
});

test('diags: a broken cluster carries its cause — ImagePullBackOff events, the crash loop\'s previous log, BIRD\'s table with the session down', async () => {
  const clock = new ManualClock(Date.now());
  await withCluster({ clock, podFaults: { failingImages: ['calico/csi:'], crashingContainers: ['calico-system/calico-kube-controllers/calico-kube-controllers'] } }, async (cluster) => {
    const settle = (seconds: number) => { for (let i = 0; i < seconds; i++) clock.advance(1000); };
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    settle(30);
    assert.equal((await kubectl(['create', '-f', path.join(SHARED_CALICO, 'v3.29.0', 'tigera-operator.yaml')], env)).code, 0);
    settle(30);
    const crs = path.join(tempDir('cr-'), 'cr.yaml');
    fs.writeFileSync(crs, fs.readFileSync(path.join(SHARED_CALICO, 'v3.29.0', 'custom-resources.yaml'), 'utf8').replace('cidr: 192.168.0.0/16', 'cidr: 10.97.0.0/16'));
    assert.equal((await kubectl(['create', '-f', crs], env)).code, 0);
    settle(60);
    cluster.runtime.network.drops.push({ traffic: 'bgp', between: [[W1, W2]] });
    settle(241);

    const out = path.join(tempDir('diags-'), 'broken.tar.gz');
    const result = await calicoDiags(env, '--output-file', out, '--nodes', 'all');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^Warning: \d+ items? could not be collected; diags\.log in the archive lists each and why$/m);
    const { read, index } = await unpack(out);
    const events = (JSON.parse(read('namespaces/calico-system/events.json')).items as { reason: string; message: string }[]).map((e) => `${e.reason}: ${e.message}`).join('\n');
    assert.match(events, /Failed to pull image "[^"]*calico\/csi:v3\.29\.0"/);
    assert.match(events, /^BackOff: Back-off pulling image/m);
    const previous = index.files.find((f) => /^namespaces\/calico-system\/logs\/calico-kube-controllers-[^/]+\/calico-kube-controllers\.previous\.log$/.test(f.path));
    assert.ok(previous, 'the crash-looping container\'s previous log');
    assert.match(read(previous.path), /fatal error: cannot start \(simulated crash\)\n$/);
    assert.match(read(`nodes/${W1}/bird-protocols.txt`), /^Mesh_192_168_56_13 +BGP +master +start .*(Active|Connect|Passive)/m);
    assert.match(read(`nodes/${W1}/bird-protocols.txt`), /^Mesh_192_168_56_11 +BGP +master +up .*Established/m);
    assert.match(read('diags.log'), /not collected: namespaces\/calico-system\/logs\/csi-node-driver-[^/]+\/calico-csi\.log: container "calico-csi" in pod "csi-node-driver-[^"]+" is waiting to start: (trying and failing to pull image|image can't be pulled)/);
  });
});

test('diags: the read-only user gets a partial bundle listing what it could not read (Secrets, pods/exec); with the README\'s diags ClusterRole bound, nothing is left out', async () => {
  await withCluster({ calico: 'v3.29.0' }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const out = path.join(tempDir('diags-'), 'viewer.tar.gz');
    const result = await calicoDiags(env, '--context', 'viewer@kubernetes', '--output-file', out);
    assert.equal(result.code, 0, result.stderr);
    const uncollected = Number(/, (\d+) items? not collected$/.exec(result.stdout.trim())![1]);
    assert.ok(uncollected > 0);
    assert.match(result.stderr, /^Warning: \d+ items could not be collected/m);
    const { read, index } = await unpack(out);
    assert.equal(index.uncollected, uncollected);
    const log = read('diags.log');
    assert.match(log, /not collected: namespaces\/calico-system\/secrets\.json: forbidden \(missing permission\): secrets is forbidden: User "viewer" cannot list resource "secrets"/);
    assert.match(log, /not collected: nodes\/kubernetes-\w+-01\/[\w.-]+\.txt: (skipped: )?forbidden: /);
    assert.ok(index.files.some((f) => f.path === 'cluster/nodes.json'), 'what the user may read is there');

    const admin = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const role = /<!-- rbac:diags -->\n```yaml\n([\s\S]*?)```\n<!-- \/rbac:diags -->/.exec(readme);
    assert.ok(role, 'the README holds the diags role');
    const roleFile = path.join(tempDir('diags-role-'), 'role.yaml');
    fs.writeFileSync(roleFile, role[1]!);
    assert.equal((await kubectl(['apply', '-f', roleFile], admin)).code, 0);
    const bound = await kubectl(['create', 'clusterrolebinding', 'calico-diags', '--clusterrole', 'kubectl-calico-diags', '--user', 'viewer'], admin);
    assert.equal(bound.code, 0, bound.stderr);
    const full = path.join(tempDir('diags-'), 'granted.tar.gz');
    const granted = await calicoDiags(env, '--context', 'viewer@kubernetes', '--output-file', full);
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout.trim(), /, 0 items not collected$/, (await unpack(full)).read('diags.log'));
  });
});

test('diags: Ctrl-C removes the temporary file and exits 130; nothing readable is exit 1 without a file', async () => {
  await withCluster({ calico: 'v3.29.0', latencyMs: 40 }, async (cluster) => {
    const dir = tempDir('diags-int-');
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const child = spawn(BINARY, ['diags', '--output-file', path.join(dir, 'b.tar.gz')], { env });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sent && stderr.includes('\n')) {
        sent = true;
        assert.ok(fs.readdirSync(dir).some((f) => f.endsWith('.tmp')), 'the temporary file exists while collecting');
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 130, stderr);
    assert.deepEqual(fs.readdirSync(dir), [], 'no file left behind');

    const refused = await run(BINARY, ['diags', '--output-file', path.join(dir, 'none.tar.gz'), '--server', 'https://127.0.0.1:1', '--request-timeout', '2s'], { env });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr.split('\n').at(-2)!, /^error: nothing could be read from the cluster, no archive written: \d+ items failed, the first: cluster\/nodes\.json: The connection to the server 127\.0\.0\.1:1 was refused - did you specify the right host or port\?$/);
    assert.equal(refused.stderr.match(/^error: /gm)?.length, 1, 'one error line');
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
