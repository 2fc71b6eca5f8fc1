// pods/exec over WebSocket, refereed by real kubectl: what `kubectl exec`
// prints and its exit code for every outcome, as against kube-apiserver —
// through the dispatcher (the client of the server's minor), with kubectl
// 1.30–1.33 named explicitly, and 1.27–1.29 (SPDY only) refused clearly.
// RBAC by server version: `get` on pods/exec is enough below 1.35; from 1.35
// `create` is needed too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanEnv, execPods, run, UNPULLABLE, withCluster, withoutStreamRace, type Result } from '../helpers.ts';

const CLIENTS = '/usr/lib/google-cloud-sdk/bin';
const MISSING = /^error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: /;

function expect(result: Result, code: number, stdout: string, stderr: string | RegExp): void {
  assert.equal(result.stdout, stdout);
  if (typeof stderr === 'string') assert.equal(result.stderr, stderr);
  else assert.match(result.stderr, stderr);
  assert.equal(result.code, code, result.stderr);
}

for (const version of ['v1.31.3', 'v1.35.0']) {
  test(`kubectl exec against a ${version} API server: output, exit codes and every error as kube-apiserver gives them`, async () => {
    await withCluster({ kubernetesVersion: version, podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
      const { tokens } = await execPods(cluster);
      const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
      const k = async (args: string[], input?: string, client = '/usr/bin/kubectl') => withoutStreamRace(await run(client, args, { env, input }));

      expect(await k(['exec', 'agn', '-c', 'agnhost', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']), 3, 'out\n', 'err\ncommand terminated with exit code 3\n');
      expect(await k(['exec', '-i', 'agn', '-c', 'agnhost', '--', 'cat'], 'hello\nworld\n'), 0, 'hello\nworld\n', '');
      expect(await k(['exec', 'agn', '-c', 'node', '--', 'sh', '-c', 'echo from bash; exit']), 0, 'from bash\n', '');
      expect(await k(['exec', 'agn', '-c', 'agnhost', '--', 'hostname']), 0, 'kubernetes-worker-01\n', '');
      expect(await k(['exec', 'agn', '--', 'true']), 0, '', 'Defaulted container "agnhost" out of: agnhost, node\n');

      // A program the image lacks: the runtime's error as a Failure on the status stream, kubectl exits 1.
      expect(await k(['exec', 'agn', '-c', 'agnhost', '--', 'tcpdump', '-i', 'any']), 1, '', new RegExp(`${MISSING.source}exec: "tcpdump": executable file not found in \\$PATH: unknown\\n$`));
      expect(await k(['exec', 'agn', '-c', 'node', '--', '/usr/local/bin/calicoctl']), 1, '', new RegExp(`${MISSING.source}exec: "/usr/local/bin/calicoctl": stat /usr/local/bin/calicoctl: no such file or directory: unknown\\n$`));
      // Inside a shell it is the shell that says so: busybox ash and bash word it differently.
      expect(await k(['exec', 'agn', '-c', 'agnhost', '--', 'sh', '-c', 'tcpdump -i any']), 127, '', 'sh: tcpdump: not found\ncommand terminated with exit code 127\n');
      expect(await k(['exec', 'agn', '-c', 'node', '--', 'sh', '-c', 'calicoctl version']), 127, '', 'sh: calicoctl: command not found\ncommand terminated with exit code 127\n');

      // Refused before the upgrade: kubectl falls back to SPDY, whose POST gets the same answer, which it prints.
      expect(await k(['exec', 'nope', '--', 'true']), 1, '', 'Error from server (NotFound): pods "nope" not found\n');
      expect(await k(['exec', 'agn', '-c', 'nope', '--', 'true']), 1, '', 'Error from server (BadRequest): container nope is not valid for pod agn\n');
      expect(await k(['exec', 'pending', '--', 'true']), 1, '', 'Error from server (BadRequest): pod pending does not have a host assigned\n');
      // Refused by the kubelet after the upgrade: the stream translator's status.
      expect(await k(['exec', 'pulling', '--', 'true']), 1, '', 'error: Internal error occurred: unable to upgrade connection: container not found ("app")\n');
      cluster.faults.unreachableKubelets.set('kubernetes-worker-02', 'i/o timeout');
      expect(await k(['exec', 'lone', '--', 'true']), 1, '', 'error: Internal error occurred: error sending request: Post "https://192.168.56.13:10250/exec/default/lone/agnhost?command=true&error=1&output=1": dial tcp 192.168.56.13:10250: i/o timeout\n');
      cluster.faults.unreachableKubelets.delete('kubernetes-worker-02');
      expect(await k(['exec', 'lone', '--', 'true']), 0, '', '');

      // RBAC: a WebSocket exec is a GET; from 1.35 it must also be allowed `create`.
      const asGetOnly = await k(['exec', '--token', tokens.get, 'agn', '-c', 'agnhost', '--', 'echo', 'hi']);
      if (version === 'v1.31.3') expect(asGetOnly, 0, 'hi\n', '');
      else {
        // The WebSocket GET is refused by Connect's create check; what kubectl prints is the 403 of its SPDY fallback.
        expect(asGetOnly, 1, '', 'Error from server (Forbidden): pods "agn" is forbidden: User "exec-get" cannot create resource "pods/exec" in API group "" in the namespace "default"\n');
        const refusals = cluster.requestLog.filter((e) => e.user === 'exec-get' && e.path.includes('/exec?')).map((e) => `${e.method} ${e.status}`);
        assert.deepEqual(refusals, ['GET 403', 'POST 403']);
      }
      expect(await k(['exec', '--token', tokens.getCreate, 'agn', '-c', 'agnhost', '--', 'echo', 'hi']), 0, 'hi\n', '');
      // `create` alone is what SPDY needs: the WebSocket GET is refused (no `get`) and kubectl falls back to SPDY,
      // which a real cluster would run; here it ends in the refusal of SPDY, never silently in something else.
      expect(await k(['exec', '--token', tokens.create, 'agn', '-c', 'agnhost', '--', 'echo', 'hi']), 1, '', 'Error from server (BadRequest): Upgrade request required\n');

      for (const minor of [30, 31, 32, 33]) {
        const client = `${CLIENTS}/kubectl.1.${minor}`;
        expect(await k(['exec', 'agn', '-c', 'agnhost', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], undefined, client), 3, 'out\n', 'err\ncommand terminated with exit code 3\n');
        expect(await k(['exec', 'agn', '-c', 'nope', '--', 'true'], undefined, client), 1, '', 'Error from server (BadRequest): container nope is not valid for pod agn\n');
      }
      // kubectl before 1.30 speaks only SPDY, which this API server does not upgrade.
      for (const minor of [27, 29]) expect(await k(['exec', 'agn', '-c', 'agnhost', '--', 'true'], undefined, `${CLIENTS}/kubectl.1.${minor}`), 1, '', 'Error from server (BadRequest): Upgrade request required\n');

      const sessions = cluster.requestLog.filter((e) => e.path.startsWith('/api/v1/namespaces/default/pods/agn/exec?') && e.method === 'GET' && e.status === 101);
      assert.ok(sessions.some((e) => e.user === 'exec-get-create'), 'exec sessions are in the request log with status 101 and the user');
    });
  });
}
