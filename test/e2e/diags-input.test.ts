// `kubectl calico diags` refusing what cannot work before it starts, and
// stopping at once when the archive cannot be written: an --output-file in a
// missing folder or at a folder, and a --nodes name the cluster does not have,
// are one `error:` line with no request beyond the node list and no file; a
// write that fails part-way (a file size limit, as a full disk) ends the run
// with one `error:` line and no file, instead of waiting forever.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BINARY, cleanEnv, run, tempDir, withCluster } from '../helpers.ts';

test('diags: a bad --output-file or --nodes is one error line before anything is collected; a failing write ends the run with one error line and no file', async () => {
  await withCluster({ calico: 'v3.29.0' }, async (cluster) => {
    const env = cleanEnv({ KUBECONFIG: cluster.kubeconfigPath });
    const dir = tempDir('diags-input-');
    const diags = (...args: string[]) => run(BINARY, ['diags', ...args], { env, cwd: dir });

    let sent = cluster.requestLog.length;
    const missing = path.join(dir, 'no-such-folder', 'b.tar.gz');
    const inMissing = await diags('--output-file', missing);
    assert.equal(inMissing.code, 1);
    assert.equal(inMissing.stderr, `error: --output-file ${missing}: the folder ${path.dirname(missing)} does not exist\n`);
    const atFolder = await diags('--output-file', dir);
    assert.equal(atFolder.code, 1);
    assert.equal(atFolder.stderr, `error: --output-file ${dir} is a folder; name the archive's file, such as ${path.join(dir, 'calico-diags.tar.gz')}\n`);
    assert.equal(cluster.requestLog.length, sent, 'nothing was sent to the cluster');

    sent = cluster.requestLog.length;
    const typo = await diags('--output-file', path.join(dir, 'typo.tar.gz'), '--nodes', 'kubernetes-worker-01,kubernetes-wrker-02');
    assert.equal(typo.code, 1);
    assert.equal(typo.stderr, 'error: --nodes: node "kubernetes-wrker-02" not found\n');
    assert.deepEqual([...new Set(cluster.requestLog.slice(sent).map((r) => r.path.split('?')[0]))], ['/api/v1/nodes'], 'only the node list was read');
    assert.deepEqual(fs.readdirSync(dir), [], 'no file, not even a temporary one');

    // A file size limit of 4 KiB: the archive's first writes succeed, a later one fails with EFBIG as on a full disk.
    const limited = await run('/bin/bash', ['-c', 'ulimit -f 4 && exec "$0" "$@"', BINARY, 'diags', '--output-file', path.join(dir, 'big.tar.gz')], { env, cwd: dir, timeoutMs: 45_000 });
    assert.equal(limited.code, 1, limited.stderr.slice(-500));
    const errors = limited.stderr.split('\n').filter((line) => line.startsWith('error: '));
    assert.deepEqual(errors, [`error: cannot write ${path.join(dir, 'big.tar.gz')}: EFBIG: file too large, write; no archive written`]);
    assert.ok(limited.stderr.endsWith(`${errors[0]}\n`), 'the error is the last line');
    assert.deepEqual(fs.readdirSync(dir), [], 'the temporary file is removed');
  });
});
