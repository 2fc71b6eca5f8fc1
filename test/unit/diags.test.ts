// The diagnostics bundle's parts (unit): the tar writer read back by tar(1)
// (ustar names, the prefix split, pax paths beyond 255 bytes), the archive's
// name from any context, the newest bytes of a log, byte sizes, and what
// redaction keeps and replaces.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { BundleFile, bundleName } from '../../src/calico/diags/archive.ts';
import { newest } from '../../src/calico/diags/logs.ts';
import { redactObject, redactText, secretSummary } from '../../src/calico/diags/redact.ts';
import { tarEnd, tarEntry } from '../../src/calico/diags/tar.ts';
import { parseByteSize } from '../../src/cli/size.ts';
import { tempDir } from '../helpers.ts';

test('tar: tar -tzvf lists each entry with its size, mode and owner; short, prefix-split and pax paths come back whole', () => {
  const dir = tempDir('tar-unit-');
  const long = `root/namespaces/calico-system/logs/${'p'.repeat(120)}/${'c'.repeat(63)}.previous.log`;
  const veryLong = `root/${'x'.repeat(200)}/${'y'.repeat(120)}.log`;
  const entries: [string, Buffer][] = [['root/index.yaml', Buffer.from('a: 1\n')], [long, Buffer.from('line\n'.repeat(300))], [veryLong, Buffer.alloc(0)], ['root/ünïcode.txt', Buffer.from('é')]];
  const mtime = new Date('2025-01-02T03:04:05Z');
  const file = path.join(dir, 'a.tar.gz');
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat([...entries.flatMap(([p, d]) => {
    const { header, padding } = tarEntry(p, d.length, mtime);
    return [header, d, padding];
  }), tarEnd()])));
  const listing = execFileSync('tar', ['-tzvf', file], { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } }).toString().trim().split('\n');
  assert.equal(listing.length, entries.length);
  entries.forEach(([p, d], i) => assert.match(listing[i]!, new RegExp(`^-rw-r--r-- root/root +${d.length} 2025-01-02 03:04 ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), p));
  execFileSync('tar', ['-xzf', file, '-C', dir]);
  for (const [p, d] of entries) assert.deepEqual(fs.readFileSync(path.join(dir, p)), d, p);
});

test('BundleFile: mode 0600 while written, renamed when complete, removed on abort; entries hashed', async () => {
  const dir = tempDir('bundle-unit-');
  const previous = process.umask(0);
  try {
    const bundle = new BundleFile(path.join(dir, 'out.tar.gz'), new Date());
    assert.equal(fs.statSync(bundle.temp).mode & 0o777, 0o600);
    await bundle.add('a.txt', 'hello', 'test');
    assert.deepEqual(bundle.entries, [{ path: 'a.txt', sha256: createHash('sha256').update('hello').digest('hex'), bytes: 5, producer: 'test' }]);
    const size = await bundle.finish();
    assert.deepEqual(fs.readdirSync(dir), ['out.tar.gz']);
    assert.equal(fs.statSync(path.join(dir, 'out.tar.gz')).size, size);
    assert.equal(execFileSync('tar', ['-xzOf', path.join(dir, 'out.tar.gz'), 'out/a.txt']).toString(), 'hello');
    const aborted = new BundleFile(path.join(dir, 'gone.tar.gz'), new Date());
    await aborted.add('b.txt', 'x', 'test');
    aborted.abort();
    assert.deepEqual(fs.readdirSync(dir), ['out.tar.gz']);
  } finally {
    process.umask(previous);
  }
});

test('bundleName: the context reduced to [A-Za-z0-9._-], never a path; UTC time stamp', () => {
  const at = new Date('2025-06-07T08:09:10.123Z');
  assert.equal(bundleName('kubernetes-admin@kubernetes', at), 'calico-diags-kubernetes-admin-kubernetes-20250607T080910Z.tar.gz');
  assert.equal(bundleName('arn:aws:eks:eu-west-1:123456789012:cluster/prod', at), 'calico-diags-arn-aws-eks-eu-west-1-123456789012-cluster-prod-20250607T080910Z.tar.gz');
  assert.equal(bundleName('../../etc', at), 'calico-diags-etc-20250607T080910Z.tar.gz');
  assert.equal(bundleName('///', at), 'calico-diags-cluster-20250607T080910Z.tar.gz');
});

test('newest: the last bytes from the first whole line within them', () => {
  const log = Buffer.from('first line\nsecond line\nthird line\n');
  assert.equal(newest(log, 100).toString(), log.toString());
  assert.equal(newest(log, 15).toString(), 'third line\n');
  assert.equal(newest(log, 11).toString(), 'third line\n', 'exactly the last line');
  assert.equal(newest(Buffer.from('x'.repeat(50)), 10).toString(), 'x'.repeat(10), 'no line break: the bytes as cut');
});

test('parseByteSize: Kubernetes quantities', () => {
  assert.equal(parseByteSize('10Mi', '--max-log-bytes'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('500k', '--max-log-bytes'), 500_000);
  assert.equal(parseByteSize('4096', '--max-log-bytes'), 4096);
  assert.throws(() => parseByteSize('0', '--max-log-bytes'), /invalid value "0" for --max-log-bytes/);
  assert.throws(() => parseByteSize('10MB', '--max-total-bytes'), /invalid value "10MB" for --max-total-bytes/);
});

const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl';

test('redactObject: Secrets cut to name, namespace, type and key names; last-applied and managedFields dropped; credential-looking values and secret-named env values replaced', () => {
  const secret = { metadata: { name: 's', namespace: 'n', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"k":"dg=="}}', other: 'x' }, labels: { a: 'b' } }, type: 'Opaque', data: { k: 'dg==', j: 'dg==' } };
  assert.deepEqual(secretSummary(secret), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'n' }, type: 'Opaque', keys: ['j', 'k'] });
  assert.deepEqual(redactObject({ kind: 'List', items: [secret] }), { kind: 'List', items: [secretSummary(secret)] }, 'a Secret inside a list, without its kind');

  const pod = {
    metadata: { name: 'p', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' }, managedFields: [{ manager: 'kubectl' }] },
    spec: {
      containers: [{ name: 'c', args: ['--token=abc123', '--v=2'], env: [{ name: 'API_TOKEN', value: 'abc' }, { name: 'db_password', value: 'hunter2' }, { name: 'MODE', value: 'x' }, { name: 'CLIENT_KEY', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'HEADER', value: `Bearer ${JWT}` }] }],
      initContainers: [{ name: 'i', env: [{ name: 'SECRET_ID', value: '12' }] }],
    },
  };
  assert.deepEqual(redactObject(pod), {
    metadata: { name: 'p', annotations: { keep: 'me' } },
    spec: {
      containers: [{ name: 'c', args: ['<redacted: 14 bytes>', '--v=2'], env: [{ name: 'API_TOKEN', value: '<redacted: 3 bytes>' }, { name: 'db_password', value: '<redacted: 7 bytes>' }, { name: 'MODE', value: 'x' }, { name: 'CLIENT_KEY', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'HEADER', value: `<redacted: ${7 + JWT.length} bytes>` }] }],
      initContainers: [{ name: 'i', env: [{ name: 'SECRET_ID', value: '<redacted: 2 bytes>' }] }],
    },
  });

  const kubeconfig = 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: abcdef\n';
  const configMap = { metadata: { name: 'c' }, data: { 'tls.key': KEY, kubeconfig, b64: Buffer.from(KEY).toString('base64'), tokenFile: 'tokenFile: /var/run/secrets/token', plain: 'mtu: 1450' } };
  assert.deepEqual(redactObject(configMap).data, {
    'tls.key': `<redacted: ${KEY.length} bytes>`, kubeconfig: `<redacted: ${kubeconfig.length} bytes>`, b64: `<redacted: ${Buffer.from(KEY).toString('base64').length} bytes>`,
    tokenFile: 'tokenFile: /var/run/secrets/token', plain: 'mtu: 1450',
  });
});

test('redactText: each credential replaced where it stands, the text around it kept', () => {
  assert.equal(redactText(`a\n${KEY}b\n`), `a\n<redacted: ${KEY.length - 1} bytes>\nb\n`);
  assert.equal(redactText(`GET / Authorization: Bearer ${JWT} 200`), `GET / Authorization: <redacted: ${7 + JWT.length} bytes> 200`);
  assert.equal(redactText('    token: abc\n    server: https://x\n'), '    token: <redacted: 3 bytes>\n    server: https://x\n');
  assert.equal(redactText('run --password=hunter2 --v=2'), 'run --password=<redacted: 7 bytes> --v=2');
  assert.equal(redactText('Felix: ready, 12 routes'), 'Felix: ready, 12 routes');
});
