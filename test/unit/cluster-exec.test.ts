// The test cluster's pods/exec at the protocol level, with a bare WebSocket
// client: subprotocol choice (v5 through the stream translator, v4 through
// the kubelet, with their own status texts), framing, stdin and v5's close
// signal, streams only when asked, TTY, and what is answered instead of an
// upgrade.
import assert from 'node:assert/strict';
import https from 'node:https';
import { test } from 'node:test';
import WebSocket from 'ws';
import { execPods, UNPULLABLE, withCluster } from '../helpers.ts';
import type { TestCluster } from '../cluster/cluster.ts';

interface Frame {
  stream: number;
  data: string;
}

type Answer = { protocol: string; frames: Frame[]; closeCode: number } | { statusCode: number; headers: Record<string, unknown>; body: string };

/** Opens an exec WebSocket as the admin, lets `talk` send, and collects every frame until the server closes. */
function session(cluster: TestCluster, query: string, protocols: string[], talk: (ws: WebSocket) => void = () => {}, pod = 'agn'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${cluster.url}/api/v1/namespaces/default/pods/${pod}/exec?${query}`, protocols, { ca: cluster.ca.cert, headers: { Authorization: `Bearer ${cluster.tokens.admin}` } });
    const frames: Frame[] = [];
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body }));
    });
    ws.on('open', () => talk(ws));
    ws.on('message', (data: Buffer) => frames.push({ stream: data[0]!, data: data.subarray(1).toString('utf8') }));
    ws.on('close', (closeCode) => resolve({ protocol: ws.protocol, frames, closeCode }));
    ws.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

function upgraded(answer: Answer): { protocol: string; frames: Frame[]; closeCode: number } {
  assert.ok('frames' in answer, `expected an upgrade, got ${JSON.stringify(answer)}`);
  return answer;
}

const text = (frames: Frame[], stream: number) => frames.filter((f) => f.stream === stream).map((f) => f.data).join('');
const status = (frames: Frame[]) => JSON.parse(text(frames, 3)) as { status: string; message?: string; reason?: string; details?: object; code?: number };
const command = (...argv: string[]) => argv.map((a) => `command=${encodeURIComponent(a)}`).join('&');

test('pods/exec speaks v5 through the stream translator and v4 through the kubelet, each with its own status texts', async () => {
  await withCluster({ podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
    await execPods(cluster);
    const exit3 = `${command('sh', '-c', 'echo out; echo err >&2; exit 3')}&container=agnhost&stdout=true&stderr=true`;

    // v5 is chosen whenever offered (the translator takes the request); the exit code as the translator words it.
    const v5 = upgraded(await session(cluster, exit3, ['v4.channel.k8s.io', 'v5.channel.k8s.io']));
    assert.equal(v5.protocol, 'v5.channel.k8s.io');
    assert.deepEqual(v5.frames[0], { stream: 1, data: '' }, 'an empty message on the lowest writable stream first');
    assert.equal(text(v5.frames, 1), 'out\n');
    assert.equal(text(v5.frames, 2), 'err\n');
    assert.deepEqual(status(v5.frames), { metadata: {}, status: 'Failure', message: 'command terminated with non-zero exit code: command terminated with exit code 3', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    assert.equal(v5.closeCode, 1000);

    // v4 alone goes to the kubelet, whose runtime server words it as the facts file quotes.
    const v4 = upgraded(await session(cluster, exit3, ['v4.channel.k8s.io']));
    assert.equal(v4.protocol, 'v4.channel.k8s.io');
    assert.equal(status(v4.frames).message, 'command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 3], exit code 3');
    const missing = `${command('foo')}&container=agnhost&stdout=true&stderr=true`;
    const runtimeError = /^failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "foo": executable file not found in \$PATH: unknown$/;
    const viaKubelet = status(upgraded(await session(cluster, missing, ['v4.channel.k8s.io'])).frames);
    assert.equal(viaKubelet.reason, 'InternalError');
    assert.match(viaKubelet.message!.replace(/^Internal error occurred: error executing command in container: /, ''), runtimeError);
    const viaTranslator = status(upgraded(await session(cluster, missing, ['v5.channel.k8s.io'])).frames);
    assert.match(viaTranslator.message!.replace(/^Internal error occurred: Internal error occurred: error executing command in container: /, ''), runtimeError);
    assert.deepEqual(status(upgraded(await session(cluster, `${command('true')}&container=agnhost&stdout=true`, ['v5.channel.k8s.io'])).frames), { metadata: {}, status: 'Success' });

    const older = await session(cluster, exit3, ['channel.k8s.io']);
    assert.deepEqual('statusCode' in older && [older.statusCode, older.body], [403, ''], 'no protocol in common: the WebSocket handshake is refused');
  });
});

test('pods/exec streams: stdin until v5 closes it, only the output streams asked for, a TTY, and no streams at all', async () => {
  await withCluster({ podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
    await execPods(cluster);
    const cat = upgraded(await session(cluster, `${command('cat')}&container=agnhost&stdin=true&stdout=true&stderr=true`, ['v5.channel.k8s.io'], (ws) => {
      ws.send(Buffer.from('\u0000abc'));
      ws.send(Buffer.from('\u0000def\n'));
      ws.send(Buffer.from([255, 0]));
    }));
    assert.equal(text(cat.frames, 1), 'abcdef\n');
    assert.equal(status(cat.frames).status, 'Success');

    const both = command('sh', '-c', 'echo out; echo err >&2');
    const stderrOnly = upgraded(await session(cluster, `${both}&container=agnhost&stderr=true`, ['v5.channel.k8s.io']));
    assert.deepEqual(stderrOnly.frames.map((f) => f.stream), [2, 2, 3], 'nothing on stdout, which was not asked for');
    assert.equal(text(stderrOnly.frames, 2), 'err\n');

    const tty = upgraded(await session(cluster, `${both}&container=agnhost&stdout=true&stderr=true&tty=true`, ['v5.channel.k8s.io'], (ws) => ws.send(Buffer.from('\u0004{"Width":80,"Height":24}'))));
    assert.equal(text(tty.frames, 1), 'out\r\nerr\r\n', 'a terminal merges stderr into stdout, CRLF');
    assert.equal(text(tty.frames, 2), '');

    const none = `${command('true')}&container=agnhost`;
    assert.deepEqual(status(upgraded(await session(cluster, none, ['v5.channel.k8s.io'])).frames).message, 'Internal error occurred: unable to upgrade connection: you must specify at least 1 of stdin, stdout, stderr');
    const refused = await session(cluster, none, ['v4.channel.k8s.io']);
    assert.deepEqual('statusCode' in refused && [refused.statusCode, refused.body], [400, 'you must specify at least 1 of stdin, stdout, stderr']);
  });
});

test('pods/exec through the kubelet path: an unreachable kubelet and a container not running are refused before the upgrade', async () => {
  await withCluster({ podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
    await execPods(cluster);
    cluster.faults.unreachableKubelets.set('kubernetes-worker-02', 'connect: connection refused');
    const dial = await session(cluster, `${command('true')}&stdout=true`, ['v4.channel.k8s.io'], undefined, 'lone');
    assert.ok('statusCode' in dial);
    assert.equal(dial.statusCode, 500);
    assert.deepEqual(JSON.parse(dial.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'error dialing backend: dial tcp 192.168.56.13:10250: connect: connection refused', code: 500 });
    const translated = status(upgraded(await session(cluster, `${command('true')}&stdout=true`, ['v5.channel.k8s.io'], undefined, 'lone')).frames);
    assert.equal(translated.message, 'Internal error occurred: error sending request: Post "https://192.168.56.13:10250/exec/default/lone/agnhost?command=true&output=1": dial tcp 192.168.56.13:10250: connect: connection refused');
    cluster.faults.unreachableKubelets.clear();

    const pulling = await session(cluster, `${command('true')}&stdout=true`, ['v4.channel.k8s.io'], undefined, 'pulling');
    assert.ok('statusCode' in pulling);
    assert.deepEqual([pulling.statusCode, pulling.body], [500, 'container not found ("app")']);
  });
});

test('pods/exec without a WebSocket upgrade, and the limits of the simulation, answer as the API server would', async () => {
  await withCluster({ podFaults: { failingImages: [UNPULLABLE] } }, async (cluster) => {
    await execPods(cluster);
    const request = (method: string, path: string, headers: Record<string, string> = {}) => new Promise<{ statusCode: number; body: string }>((resolve, reject) => {
      const req = https.request(`${cluster.url}${path}`, { method, ca: cluster.ca.cert, headers: { Authorization: `Bearer ${cluster.tokens.admin}`, ...headers } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk));
        response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const exec = `/api/v1/namespaces/default/pods/agn/exec?${command('true')}&container=agnhost&stdout=true`;
    const required = { statusCode: 400, message: 'Upgrade request required' };
    for (const [method, headers] of [['GET', {}], ['POST', { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' }]] as const) {
      const answer = await request(method, exec, headers);
      assert.deepEqual({ statusCode: answer.statusCode, message: JSON.parse(answer.body).message }, required, `${method} ${JSON.stringify(headers)}`);
    }
    assert.equal((await request('PUT', exec)).statusCode, 405);
    const choose = await request('GET', `/api/v1/namespaces/default/pods/agn/exec?${command('true')}&stdout=true`);
    assert.equal(JSON.parse(choose.body).message, 'a container name must be specified for pod agn, choose one of: [agnhost node]');

    const resources = JSON.parse((await request('GET', '/api/v1')).body).resources as { name: string; kind: string; verbs: string[] }[];
    assert.deepEqual(resources.find((r) => r.name === 'pods/exec'), { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] });

    const notSimulated = status(upgraded(await session(cluster, `${command('iperf', '-c', 'x')}&container=agnhost&stdout=true`, ['v5.channel.k8s.io'])).frames);
    assert.equal(notSimulated.message, 'Internal error occurred: test cluster: iperf is not simulated');
    assert.ok(cluster.requestLog.some((e) => e.method === 'GET' && e.status === 101 && e.user === 'kubernetes-admin' && e.path.includes('command=iperf')), 'sessions are logged');
  });
});
