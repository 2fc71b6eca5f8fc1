// Redaction of the diagnostics bundle, table-driven: every way a credential
// shows up in text (logs, command output, configuration files, diags.log) and
// in objects (ConfigMap values, env entries, custom resources) must be gone,
// and every innocent line or value that only resembles one must be kept byte
// for byte — a bundle that hides the configuration it was made for is no use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { credentialName, redactObject, redactText } from '../../src/calico/diags/redact.ts';

const SECRET = 'hunter2-Qx7';
const KEY_BODY = ['MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgX1Y2Zz3m9kq7wQ4u', 'oUQDQgAE0mS9jJt3yq8yF4r2D5xN8cW6ZbQ1vTn0Ue7o3hLkP2sA9fYcR4iX5bD1', 'k2Lw8nQ5tZ3vH7mJ4pXr'];
const PEM = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY.join('\n')}\n-----END PRIVATE KEY-----`;
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl';
const BASIC = Buffer.from(`admin:${SECRET}`).toString('base64');

/** Text holding a credential, and the parts of it that must not survive. */
const TEXT_LEAKS: [string, string, string[]][] = [
  ['YAML key', `password: ${SECRET}\n`, [SECRET]],
  ['YAML key with spaces in the value', `  db_password: "${SECRET} and more"\n`, [SECRET, 'and more']],
  ['INI key', `[db]\ndb_password = ${SECRET}\n`, [SECRET]],
  ['env file', `export DB_PASSWORD=${SECRET}\n`, [SECRET]],
  ['mid-line key=value pairs', `level=info msg="connecting" password=${SECRET} token=tok${SECRET} user=bob\n`, [SECRET]],
  ['one-line JSON', `{"level":"info","password":"${SECRET}","user":"bob"}\n`, [SECRET]],
  ['JSON inside a JSON log message', `{"msg":"config {\\"apiKey\\":\\"${SECRET}\\"}"}\n`, [SECRET]],
  ['a flag with =', `args: --db-password=${SECRET} --v=2\n`, [SECRET]],
  ['a flag with a space', `exec calico --token ${SECRET} --v=2\n`, [SECRET]],
  ['a URL with a password', `dial postgres://admin:${SECRET}@db:5432/calico failed\n`, [SECRET]],
  ['a proxy variable', `HTTPS_PROXY=http://alice:${SECRET}@proxy:3128\n`, [SECRET]],
  ['Authorization: Basic', `GET /v2/ Authorization: Basic ${BASIC}\n`, [BASIC]],
  ['a basic token alone', `auth with Basic ${BASIC} failed\n`, [BASIC]],
  ['Authorization: Bearer', `Authorization: Bearer ${JWT}\n`, [JWT, JWT.split('.')[1]!]],
  ['an Authorization header as JSON', `{"headers":{"Authorization":"Token ${SECRET}"}}\n`, [SECRET]],
  ['a JWT alone', `token is ${JWT}\n`, [JWT.split('.')[1]!]],
  ['a PEM block', `loaded key\n${PEM}\ndone\n`, KEY_BODY],
  ['a PEM block cut at the end', `loaded key\n${PEM.slice(0, 90)}`, [KEY_BODY[0]!]],
  ['a PEM body whose BEGIN was cut off', `${KEY_BODY.slice(1).join('\n')}\n-----END PRIVATE KEY-----\nnext line\n`, KEY_BODY.slice(1)],
  ['a PEM body with escaped line breaks, BEGIN cut off', `${KEY_BODY.slice(1).join('\\n')}\\n-----END PRIVATE KEY-----\\n"}\n`, KEY_BODY.slice(1)],
  ['base64 of a PEM', `client-key-data: ${Buffer.from(PEM).toString('base64')}\n`, [Buffer.from(PEM).toString('base64').slice(20, 60)]],
  ['a YAML block under a credential', `config:\n  password: |\n    ${SECRET}\n    second line\n  mtu: 1450\n`, [SECRET, 'second line']],
  ['an env entry in YAML', `env:\n- name: DB_PASS\n  value: ${SECRET}\n`, [SECRET]],
  ['an env entry in JSON', `{"name":"CREDENTIALS","value":"${SECRET}"}`, [SECRET]],
  ['a kubeconfig', `users:\n- name: u\n  user:\n    token: ${SECRET}\n    client-key-data: ${SECRET}x\n`, [SECRET]],
  ['AUTH as a word', `AUTH=${SECRET}\n`, [SECRET]],
  ['an API key', `X-API-KEY: ${SECRET}\n`, [SECRET]],
];

/** Text that only resembles a credential: kept as it is. */
const TEXT_INNOCENT: [string, string][] = [
  ['a token lifetime', 'tokenExpirationSeconds: 3600\n'],
  ['a reference to a Secret', 'secretName: calico-typha-tls\nsecretKeyRef:\n  name: bgp-secrets\n  key: peer-password\n'],
  ['a token file', 'tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n'],
  ['a toleration', 'tolerations:\n- key: node-role.kubernetes.io/control-plane\n  effect: NoSchedule\n'],
  ['a topology key', 'topologyKey: kubernetes.io/hostname\n'],
  ['a public key', 'projectcalico.org/WireguardPublicKey: 3o4FM7JbBqGOMn9aBzZ8sVjTEXhN6mUCTmkVbI1iBmc=\n'],
  ['an auth mode', 'auth-mode=kubernetes authorization-mode=Webhook\n'],
  ['a boolean under a credential name', 'automountServiceAccountToken: false\n'],
  ['an empty value', 'password: ""\n'],
  ['prose about auth', 'Basic connectivity checks passed; Authorization header missing; using bearer authentication\n'],
  ['a URL without a password', 'GET https://10.96.0.1:443/api/v1/nodes?limit=500 200 OK; proxy http://proxy:3128; [fd00::1]:80\n'],
  ['Felix and BIRD', 'Felix: ready, 12 routes\nBIRD is not ready: BGP not established with 192.168.56.11\n'],
  ['an iptables rule', '-A cali-INPUT -m comment --comment "cali:msRIDfJB8b1xO2Mb" -m mark --mark 0x10000/0x10000 -j ACCEPT\n'],
  ['words containing pass and key', 'bypass=true passthrough=1 monkey=2 keyUsage: digital signature\n'],
  ['the redaction itself', 'password: <redacted: 7 bytes>\n'],
  ['JSON under a credential-named key', '{"auth":{"mode":"kubernetes"},"tokens":[],"credentials":null}\n'],
  ['a path before a colon (diags.log)', 'not collected: namespaces/calico-system/secrets.json: forbidden (missing permission): secrets is forbidden\n'],
];

test('redactText: every credential in the table is gone, the text around it kept', () => {
  for (const [what, text, secrets] of TEXT_LEAKS) {
    const out = redactText(text);
    for (const secret of secrets) assert.ok(!out.includes(secret), `${what}: ${JSON.stringify(secret)} survived in ${JSON.stringify(out)}`);
    assert.match(out, /<redacted: \d+ bytes>/, what);
    assert.equal(redactText(out), out, `${what}: redacting twice changes nothing`);
  }
});

test('redactText: innocent text that resembles a credential is kept byte for byte', () => {
  for (const [what, text] of TEXT_INNOCENT) assert.equal(redactText(text), text, what);
});

test('redactText: what is kept around a credential', () => {
  assert.equal(redactText(`level=info password=${SECRET} user=bob`), `level=info password=<redacted: ${SECRET.length} bytes> user=bob`);
  assert.equal(redactText(`{"password":"${SECRET}","user":"bob"}`), `{"password":"<redacted: ${SECRET.length} bytes>","user":"bob"}`);
  assert.equal(redactText(`postgres://admin:${SECRET}@db`), `postgres://admin:<redacted: ${SECRET.length} bytes>@db`);
  assert.equal(redactText(`--db-password=${SECRET} --v=2`), `--db-password=<redacted: ${SECRET.length} bytes> --v=2`);
  assert.equal(redactText(`a\n${KEY_BODY[2]}\n-----END PRIVATE KEY-----\nb\n`), `a\n<redacted: ${KEY_BODY[2]!.length + 26} bytes>\nb\n`);
});

test('credentialName: names that hold a credential, and names that point at one or only look like one', () => {
  for (const name of ['password', 'DB_PASSWORD', 'db_pass', 'etcdPassword', 'k8sAPIToken', 'CREDENTIALS', 'AUTH', 'tls.key', 'apiKey', 'X-API-KEY', 'clientSecret', 'imagePullSecrets', 'passwordHash', 'secret_id']) {
    assert.ok(credentialName(name), name);
  }
  for (const name of ['secretName', 'secretKeyRef', 'tokenFile', 'tokenExpirationSeconds', 'key', 'topologyKey', 'keyName', 'WireguardPublicKey', 'authMode', 'bypass', 'passthrough', 'keyAlgorithm', 'author', 'etcdKeyFile']) {
    assert.ok(!credentialName(name), name);
  }
});

test('redactObject: values under credential keys, credential env entries and credential-looking strings are replaced; references and look-alikes are kept', () => {
  const configMap = {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'calico-system' },
    data: {
      password: SECRET, DB_PASSWORD: SECRET, 'config.ini': `[db]\ndb_password = ${SECRET}\n`, DATABASE_URL: `postgres://admin:${SECRET}@db`,
      tokenExpirationSeconds: '3600', secretName: 'calico-typha-tls', mtu: '1450', empty: '',
    },
  };
  const out = redactObject(configMap);
  assert.deepEqual(out.data, {
    password: `<redacted: ${SECRET.length} bytes>`, DB_PASSWORD: `<redacted: ${SECRET.length} bytes>`,
    'config.ini': `<redacted: ${`[db]\ndb_password = ${SECRET}\n`.length} bytes>`, DATABASE_URL: `<redacted: ${`postgres://admin:${SECRET}@db`.length} bytes>`,
    tokenExpirationSeconds: '3600', secretName: 'calico-typha-tls', mtu: '1450', empty: '',
  });

  const remote = { apiVersion: 'projectcalico.org/v3', kind: 'RemoteClusterConfiguration', metadata: { name: 'east' }, spec: { datastoreType: 'etcdv3', etcdEndpoints: 'https://10.0.0.1:2379', etcdUsername: 'calico', etcdPassword: SECRET, etcdKeyFile: '/etc/etcd/key.pem', k8sAPIToken: 'opaque-not-a-jwt-0123', k8sAPIEndpoint: 'https://10.0.0.2:6443', clusterAccessSecret: { name: 'east-access', namespace: 'calico-system', kind: 'Secret' } } };
  assert.deepEqual(redactObject(remote).spec, { ...remote.spec, etcdPassword: `<redacted: ${SECRET.length} bytes>`, k8sAPIToken: '<redacted: 21 bytes>' });

  const pod = {
    metadata: { name: 'p', annotations: { 'projectcalico.org/WireguardPublicKey': '3o4FM7JbBqGOMn9aBzZ8sVjTEXhN6mUCTmkVbI1iBmc=' } },
    spec: {
      automountServiceAccountToken: false,
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
      volumes: [{ name: 'certs', secret: { secretName: 'node-certs', defaultMode: 420 } }, { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
      containers: [{
        name: 'c', args: [`--db-password=${SECRET}`, '--v=2'],
        env: [{ name: 'DB_PASS', value: SECRET }, { name: 'CREDENTIALS', value: SECRET }, { name: 'AUTH', value: SECRET }, { name: 'HTTPS_PROXY', value: `http://alice:${SECRET}@proxy:3128` }, { name: 'NO_PROXY', value: '10.96.0.0/12' }, { name: 'FROM', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } }],
      }],
    },
  };
  const hidden = `<redacted: ${SECRET.length} bytes>`;
  assert.deepEqual(redactObject(pod), {
    ...pod,
    spec: {
      ...pod.spec,
      containers: [{
        name: 'c', args: [`<redacted: ${`--db-password=${SECRET}`.length} bytes>`, '--v=2'],
        env: [{ name: 'DB_PASS', value: hidden }, { name: 'CREDENTIALS', value: hidden }, { name: 'AUTH', value: hidden }, { name: 'HTTPS_PROXY', value: `<redacted: ${`http://alice:${SECRET}@proxy:3128`.length} bytes>` }, { name: 'NO_PROXY', value: '10.96.0.0/12' }, { name: 'FROM', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } }],
      }],
    },
  });
});
