import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flagSpecFrom, hoistLeadingFlags, normalizeFlags } from '../../src/cli/argv.ts';

const spec = flagSpecFrom(['-o,--output #0', '-v,--v #0', '--client', '--context #0', '--insecure-skip-tls-verify']);

test('short flags glued to their value are split, as pflag allows', () => {
  assert.deepEqual(normalizeFlags(['version', '-ojson', '-v6'], spec), ['version', '-o', 'json', '-v', '6']);
});

test('booleans with an explicit value become the flag or its --no- form', () => {
  assert.deepEqual(normalizeFlags(['--client=true', '--insecure-skip-tls-verify=false'], spec), ['--client', '--no-insecure-skip-tls-verify']);
});

test('values after -- are left alone', () => {
  assert.deepEqual(normalizeFlags(['--', '-ojson'], spec), ['--', '-ojson']);
});

test('unknown spellings pass through for clipanion to reject', () => {
  assert.deepEqual(normalizeFlags(['-x7', '--output=json'], spec), ['-x7', '--output=json']);
});

test('flags before the command move after it, with their values', () => {
  const length = (words: string[]) => (words[0] === 'version' ? 1 : 0);
  assert.deepEqual(hoistLeadingFlags(['--context', 'prod', '-v', '6', 'version', '--client'], spec, length), ['version', '--context', 'prod', '-v', '6', '--client']);
});
