import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { formatCell, renderServerTable, tabwrite, width, type ServerTable } from '../../src/print/table.ts';

const col = (name: string, priority = 0) => ({ name, type: 'string', format: name === 'Name' ? 'name' : '', priority });
const pods: ServerTable = {
  columnDefinitions: [col('Name'), col('Ready'), col('Status'), col('Restarts'), col('Age'), col('IP', 1), col('Node', 1), col('Nominated Node', 1), col('Readiness Gates', 1)],
  rows: [
    ['calico-kube-controllers-5b7b5c6879-q797c', '1/1', 'Running', '0', '10m', '192.168.10.2', 'kubernetes-master-01', '<none>', '<none>'],
    ['calico-node-4l9hm', '1/1', 'Running', '0', '10m', '10.0.0.10', 'kubernetes-worker-01', '<none>', '<none>'],
    ['calico-typha-687b7c794-6ttjl', '1/1', 'Running', '0', '10m', '10.0.0.11', 'kubernetes-master-01', '<none>', '<none>'],
    ['csi-node-driver-dvsdr', '2/2', 'Running', '0', '10m', '192.168.20.3', 'kubernetes-worker-01', '<none>', '<none>'],
  ].map((cells) => ({ cells, object: { metadata: { namespace: 'calico-system' } } })),
};

test('kubectl-tables §5.1: pods, byte for byte', () => {
  const text = renderServerTable(pods);
  assert.equal(Buffer.byteLength(text), 380);
  assert.equal(createHash('sha256').update(text).digest('hex').slice(0, 16), '48ef9ee503804103');
});

test('kubectl-tables §5.3: --no-headers widths come from the data only', () => {
  assert.equal(renderServerTable(pods, { noHeaders: true }).split('\n')[0], 'calico-kube-controllers-5b7b5c6879-q797c   1/1   Running   0     10m');
});

test('kubectl-tables §5.5: -o wide shows priority-1 columns', () => {
  assert.equal(renderServerTable(pods, { wide: true }).split('\n')[0], 'NAME                                       READY   STATUS    RESTARTS   AGE   IP             NODE                   NOMINATED NODE   READINESS GATES');
});

test('kubectl-tables §5.4: -A adds NAMESPACE from the row objects', () => {
  assert.match(renderServerTable(pods, { withNamespace: true }), /^NAMESPACE       NAME {39}READY/);
});

test('an empty last cell leaves the previous padding, as TigeraStatus MESSAGE does', () => {
  assert.equal(tabwrite([['NAME', 'SINCE', 'MESSAGE'], ['calico', '17h', '']]), 'NAME     SINCE   MESSAGE\ncalico   17h     \n');
});

test('widths count code points, not display width; colour codes never count', () => {
  assert.equal(width('日本語-pod'), 7);
  assert.equal(width('\x1b[32mRunning\x1b[39m'), 7);
  const text = tabwrite([['NAME', 'X'], ['日本語-pod', 'a'], ['\x1b[31mred\x1b[39m', 'b']]);
  assert.equal(text, 'NAME      X\n日本語-pod   a\n\x1b[31mred\x1b[39m       b\n');
});

test('cells: null blank, newlines cut with ..., ESC escaped, Go numbers and booleans', () => {
  assert.equal(formatCell(null), '');
  assert.equal(formatCell('multi\nline'), 'multi...');
  assert.equal(formatCell('a\x1bb'), 'a^[b');
  assert.equal(formatCell(2.0), '2');
  assert.equal(formatCell(1234567), '1234567');
  assert.equal(formatCell(1e21), '1e+21');
  assert.equal(formatCell(true), 'true');
  assert.equal(formatCell({ b: 1, a: [1, 2] }), 'map[a:[1 2] b:1]');
});
