// The programs inside the test cluster's containers, run directly: how runc
// finds argv[0] in an image, and the `sh -c` subset in both dialects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageContents, NotSimulated, resolveProgram, type ImageContents, type ProgramContext, type ProgramResult } from '../cluster/programs/index.ts';

const AGNHOST = imageContents('registry.k8s.io/e2e-test-images/agnhost:2.52')!;
const CALICO_NODE = imageContents('quay.io/calico/node:v3.30.7')!;

async function run(image: ImageContents, argv: string[], stdin = ''): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const found = resolveProgram(image, argv[0]!);
  assert.ok('program' in found, JSON.stringify(found));
  const pod = { metadata: { name: 'web-0', namespace: 'default' }, spec: { nodeName: 'node-1', containers: [] } };
  const context = { pod, container: { name: 'c', image: image.repository }, image, argv, stdin: async () => Buffer.from(stdin), signal: new AbortController().signal } as unknown as ProgramContext;
  const result: ProgramResult = await found.program(context);
  return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode };
}

test('images are known by repository whatever the registry and tag; argv[0] is found as runc finds it', () => {
  assert.equal(imageContents('docker.io/calico/node:v3.29.0'), CALICO_NODE);
  assert.equal(imageContents('calico/node@sha256:0123'), CALICO_NODE);
  assert.equal(imageContents('registry.k8s.io/coredns/coredns:v1.11.3'), undefined, 'an image the table does not describe');
  assert.ok('program' in resolveProgram(CALICO_NODE, '/bin/cat'), '/bin is /usr/bin on UBI');
  assert.ok('program' in resolveProgram(CALICO_NODE, 'calico-node'));
  assert.deepEqual(resolveProgram(AGNHOST, 'tcpdump'), { error: 'exec: "tcpdump": executable file not found in $PATH' });
  assert.deepEqual(resolveProgram(AGNHOST, '/usr/bin/cat'), { error: 'exec: "/usr/bin/cat": stat /usr/bin/cat: no such file or directory' });
});

test('sh -c: simple commands, quotes, `;` and newlines, >&2, exit, stdin to the first reader; each dialect says "not found" its way', async () => {
  assert.deepEqual(await run(AGNHOST, ['sh', '-c', `echo "a  b" 'c;d'; echo -n e >&2\necho f 1>&2; false; exit`]), { stdout: 'a  b c;d\n', stderr: 'ef\n', exitCode: 1 });
  assert.deepEqual(await run(AGNHOST, ['sh', '-c', 'exit 300; echo never']), { stdout: '', stderr: '', exitCode: 44 });
  assert.deepEqual(await run(AGNHOST, ['sh', '-c', 'cat; cat; hostname'], 'in\n'), { stdout: 'in\nweb-0\n', stderr: '', exitCode: 0 });
  await assert.rejects(run(AGNHOST, ['sh', '-c', 'iperf -c x; true']), /iperf is not simulated/, 'iperf is in the image: not simulated, never "not found"');
  assert.deepEqual(await run(AGNHOST, ['/bin/sh', '-c', 'tcpdump x']), { stdout: '', stderr: '/bin/sh: tcpdump: not found\n', exitCode: 127 });
  assert.deepEqual(await run(CALICO_NODE, ['sh', '-c', 'calicoctl version']), { stdout: '', stderr: 'sh: calicoctl: command not found\n', exitCode: 127 });
  assert.deepEqual(await run(CALICO_NODE, ['sh', '-c', '/opt/x', 'probe']), { stdout: '', stderr: 'probe: /opt/x: No such file or directory\n', exitCode: 127 });
  for (const script of ['echo a | cat', 'true && echo a', 'echo $HOME', 'A=1 echo a', 'echo "unterminated', 'echo a > /tmp/x']) {
    await assert.rejects(run(AGNHOST, ['sh', '-c', script]), NotSimulated, script);
  }
  await assert.rejects(run(AGNHOST, ['sh']), NotSimulated, 'a shell reading its script from stdin');
});
