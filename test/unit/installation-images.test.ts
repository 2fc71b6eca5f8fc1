// The image settings upgrade reads from a live Installation (no folder): the
// operator's own words for "the default" are no setting, and a value it could
// not use is the Installation's problem, named by its field — never a flag's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError, UsageError } from '../../src/cli/errors.ts';
import { installationImageSettings, parseRegistry } from '../../src/calico/images.ts';

test('UseDefault, empty and absent fields are no setting', () => {
  assert.equal(installationImageSettings({}), undefined);
  assert.equal(installationImageSettings({ registry: 'UseDefault', imagePath: 'UseDefault', imagePrefix: 'UseDefault', imagePullSecrets: [] }), undefined);
  assert.equal(installationImageSettings({ registry: '', imagePath: '', imagePrefix: '' }), undefined);
  // As a flag, UseDefault is a registry host like any other: only the Installation gives it its meaning.
  assert.equal(parseRegistry('UseDefault'), 'UseDefault/');
});

test('live values are read as the operator reads them: the registry gets its one trailing slash, pull secrets need no registry', () => {
  assert.deepEqual(installationImageSettings({ registry: 'mirror.example.com:5000', imagePath: 'calico-mirror', imagePrefix: 'UseDefault' }), { registry: 'mirror.example.com:5000/', imagePath: 'calico-mirror' });
  assert.deepEqual(installationImageSettings({ registry: 'UseDefault', imagePullSecrets: [{ name: 'hub' }, { name: 'hub' }] }), { imagePullSecrets: ['hub'] });
});

test('a live value the operator cannot use is one error naming the Installation field, exit 1', () => {
  const cases: [Parameters<typeof installationImageSettings>[0], RegExp][] = [
    [{ registry: 'https://mirror.example.com' }, /^the Installation's spec\.registry "https:\/\/mirror\.example\.com" is not one the operator can use: a registry has no scheme/],
    [{ imagePath: 'Mirror/Calico' }, /^the Installation's spec\.imagePath "Mirror\/Calico" is not one the operator can use: expected path segments/],
    [{ imagePrefix: '-x' }, /^the Installation's spec\.imagePrefix "-x" is not one the operator can use: expected lower-case letters/],
    [{ imagePullSecrets: [{ name: 'Bad_Name' }] }, /^the Installation's spec\.imagePullSecrets "Bad_Name" is not one the operator can use: expected a Secret name/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(() => installationImageSettings(spec), (e: unknown) => e instanceof CliError && !(e instanceof UsageError) && e.exitCode === 1 && message.test(e.message) && e.message.endsWith('; correct it (kubectl edit installation default) or pass --dir with the folder init wrote'), JSON.stringify(spec));
  }
});
