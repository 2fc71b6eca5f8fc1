// The plugin's exec client (src/kube/exec.ts) against a started test
// cluster: output, exit codes and stdin; every outcome kubectl exec is
// refereed on, as a classified ExecError; the output cap; credentials by
// token and client certificate with -v 9 masking; RBAC by server version;
// timeouts, aborts and transport failures.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Logger } from '../../src/cli/logger.ts';
import { connect } from '../../src/kube/connect.ts';
import { exec, ExecError, type ExecErrorKind, type ExecOptions } from '../../src/kube/exec.ts';
import type { KubeFlags } from '../../src/kube/kubeconfig.ts';
import { IMAGES, type ProgramResult } from '../cluster/programs/index.ts';
import { eventually, execPods, seeded, UNPULLABLE, withCluster } from '../helpers.ts';

function client(kubeconfig: string, flags: Partial<KubeFlags> = {}, logger = new Logger(0, process.stderr)) {
  return connect({ kubeconfig, asGroups: [], insecureSkipTlsVerify: false, ...flags }, { env: {}, logger, timeoutMs: 30_000 });
}

const run = (kube: ReturnType<typeof client>, options: Partial<ExecOptions> & { command: string[] }) =>
  exec(kube, { namespace: 'default', pod: 'agn', container: 'agnhost', timeoutMs: 20_000, ...options });

async function refusal(promise: Promise<unknown>, kind: ExecErrorKind, message: RegExp): Promise<ExecError> {
  const error = await promise.then(() => assert.fail('expected an ExecError'), (e: unknown) => e);
  assert.ok(error instanceof ExecError, String(error));
  assert.equal(error.kind, kind, error.message);
  assert.match(error.message, message);
  assert.equal(error.retryable, kind === 'transport');
  return error;
}

test('exec client: output, exit codes, stdin, the output cap, and each reason a command cannot run', async () => {
  await withCluster({ podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
    await execPods(cluster);
    const kube = client(cluster.kubeconfigPath);

    assert.deepEqual(await run(kube, { command: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }), { exitCode: 3, stdout: 'out\n', stderr: 'err\n', droppedBytes: { stdout: 0, stderr: 0 } });
    assert.equal((await run(kube, { command: ['cat'], stdin: 'hello\nworld\n' })).stdout, 'hello\nworld\n');
    assert.deepEqual(await run(kube, { command: ['echo', '0123456789'], maxOutputBytes: 4 }), { exitCode: 0, stdout: '0123', stderr: '', droppedBytes: { stdout: 7, stderr: 0 } });
    assert.equal((await run(kube, { container: 'node', command: ['sh', '-c', 'calicoctl version'] })).exitCode, 127, 'a shell reports a missing command itself');

    const missing = await refusal(run(kube, { command: ['tcpdump', '-i', 'any'] }), 'program-missing', /^running tcpdump in default\/agn \(container agnhost\): the container's image has no "tcpdump"$/);
    assert.match(missing.serverMessage!, /executable file not found in \$PATH: unknown$/);
    await refusal(run(kube, { container: 'node', command: ['/usr/local/bin/calicoctl'] }), 'program-missing', /has no "\/usr\/local\/bin\/calicoctl"$/);
    await refusal(run(kube, { pod: 'nope', command: ['true'] }), 'pod-not-found', /: pods "nope" not found \(NotFound\)$/);
    await refusal(run(kube, { container: 'nope', command: ['true'] }), 'container-unknown', /: container nope is not valid for pod agn \(BadRequest\)$/);
    await refusal(run(kube, { pod: 'pending', container: 'app', command: ['true'] }), 'pod-not-running', /: pod pending does not have a host assigned \(BadRequest\)$/);
    await refusal(run(kube, { pod: 'pulling', container: 'app', command: ['true'] }), 'pod-not-running', /: the container is not running$/);
    cluster.faults.unreachableKubelets.set('kubernetes-worker-02', 'i/o timeout');
    await refusal(run(kube, { pod: 'lone', command: ['true'] }), 'kubelet-unreachable', /cannot reach the node's kubelet: .*dial tcp 192\.168\.56\.13:10250: i\/o timeout$/);
    cluster.faults.unreachableKubelets.clear();
    await refusal(run(kube, { command: ['iperf', '-c', 'example.invalid'] }), 'failed', /: Internal error occurred: test cluster: iperf is not simulated$/);

    // The API server overloaded or failing: worth another try.
    cluster.faults.errorRate = 1;
    cluster.faults.random = seeded(1);
    await refusal(run(kube, { command: ['true'] }), 'transport', /\((InternalError|TooManyRequests)\)$/);
    cluster.faults.errorRate = 0;
    await refusal(run(client(cluster.kubeconfigPath, { server: 'https://127.0.0.1:1' }), { command: ['true'] }), 'transport', /The connection to the server 127\.0\.0\.1:1 was refused/);
  });
});

test('exec client: a timeout and an abort end the exec, and the program with it', async () => {
  let stopped = 0;
  IMAGES.push({
    repository: 'example.test/forever',
    path: ['/'],
    links: {},
    files: { '/forever': ({ signal }) => new Promise<ProgramResult>((resolve) => signal.addEventListener('abort', () => resolve({ exitCode: 0 }), { once: true })).finally(() => stopped++) },
  });
  try {
    await withCluster({}, async (cluster) => {
      cluster.api.create(cluster.api.registry.byKey('pods')!, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'forever', namespace: 'default' }, spec: { hostNetwork: true, nodeName: 'kubernetes-worker-01', containers: [{ name: 'main', image: 'example.test/forever:1' }] } }, { fieldManager: 'test' });
      const kube = client(cluster.kubeconfigPath);
      const forever = { pod: 'forever', container: 'main', command: ['forever'] };
      // Until the container runs the kubelet refuses; then a program that is not there is the runtime's answer.
      await eventually(() => run(kube, { ...forever, command: ['/nothing-here'] }).catch((e: ExecError) => e.kind === 'program-missing'));
      await refusal(run(kube, { ...forever, timeoutMs: 300 }), 'timeout', /no exit status within 0\.3s$/);
      const controller = new AbortController();
      const aborted = run(kube, { ...forever, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('interrupted')), 100);
      await assert.rejects(aborted, /^Error: interrupted$/);
      await eventually(() => stopped === 2, 5_000);
    });
  } finally {
    IMAGES.pop();
  }
});

for (const version of ['v1.31.3', 'v1.35.0']) {
  test(`exec client on ${version}: RBAC, client certificates, and -v 9 logging without credentials`, async () => {
    await withCluster({ kubernetesVersion: version, podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
      const { tokens } = await execPods(cluster);
      const getOnly = run(client(cluster.kubeconfigPath, { token: tokens.get }), { command: ['echo', 'hi'] });
      if (version === 'v1.31.3') assert.equal((await getOnly).stdout, 'hi\n');
      else await refusal(getOnly, 'forbidden', /^running echo in default\/agn \(container agnhost\): forbidden: running commands needs "get" and "create" on "pods\/exec" in the namespace "default" \(pods "agn" is forbidden\)$/);
      assert.equal((await run(client(cluster.kubeconfigPath, { token: tokens.getCreate }), { command: ['echo', 'hi'] })).stdout, 'hi\n');
      await refusal(run(client(cluster.kubeconfigPath, { context: 'viewer@kubernetes' }), { command: ['true'] }), 'forbidden', /User "viewer" cannot get resource "pods\/exec" in API group "" in the namespace "default"/);

      let log = '';
      const logger = new Logger(9, new Writable({ write: (chunk, _encoding, done) => { log += chunk; done(); } }));
      assert.equal((await run(client(cluster.kubeconfigPath, {}, logger), { command: ['true'] })).exitCode, 0);
      assert.equal((await run(client(cluster.kubeconfigPath, { context: 'cert-admin@kubernetes' }, logger), { command: ['hostname'] })).stdout, 'kubernetes-worker-01\n');
      assert.match(log, /curl -v -XGET .*-H "Authorization: Bearer <masked>".* 'https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/default\/pods\/agn\/exec\?command=true&container=agnhost&stdout=true&stderr=true'/);
      assert.match(log, /GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/default\/pods\/agn\/exec\?command=hostname&container=agnhost&stdout=true&stderr=true 101 Switching Protocols in \d+ milliseconds/);
      assert.ok(!log.includes(cluster.tokens.admin), 'the token is never logged');
    });
  });
}
