// The one JUnit writer (doctor's and connectivity's -o junit) against the
// Jenkins JUnit schema: every status, text that needs escaping, and any text
// at all (property-based).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { renderJUnit, type TestCase } from '../../src/print/junit.ts';
import { junitErrors } from '../junit.ts';

test('passing, failing and skipped cases are valid JUnit, with their counts', async () => {
  const cases: TestCase[] = [
    { classname: 'calico.connectivity', name: 'pod-to-pod-same-node', status: 'pass', output: '3/3 probes passed', seconds: 0.25 },
    { classname: 'calico.connectivity', name: 'pod-to-pod-cross-node', status: 'fail', message: '2 of 6 probes failed', body: 'kubernetes-master-01 -> kubernetes-worker-01 10.97.1.4:9376: TIMEOUT\nfix: allow UDP 4789', seconds: 2 },
    { classname: 'calico.connectivity', name: 'pod-to-pod-same-node-ipv6', status: 'skip', message: 'the cluster is not dual-stack' },
  ];
  const xml = renderJUnit('kubectl calico connectivity', [{ name: 'calico-connectivity', cases, seconds: 2.25 }]);
  assert.deepEqual(await junitErrors(xml), []);
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="kubectl calico connectivity" tests="3" failures="1" errors="0" time="2\.250">\n  <testsuite name="calico-connectivity" tests="3" failures="1" errors="0" skipped="1" time="2\.250">\n/);
  assert.match(xml, /<testcase classname="calico\.connectivity" name="pod-to-pod-same-node-ipv6"><skipped>the cluster is not dual-stack<\/skipped><\/testcase>/);
  assert.match(xml, /<failure message="2 of 6 probes failed" type="FAIL">kubernetes-master-01 -&gt; kubernetes-worker-01 10\.97\.1\.4:9376: TIMEOUT\nfix: allow UDP 4789<\/failure>/);
});

test('the schema rejects what the writer must never write (the check has teeth)', async () => {
  assert.notDeepEqual(await junitErrors('<testsuites skipped="1"><testsuite name="a" tests="1"><testcase name="b"><skipped message="m"/></testcase></testsuite></testsuites>'), []);
});

test('any text in names, messages and bodies stays valid XML and valid JUnit', async () => {
  const text = fc.string({ unit: 'binary' });
  const testCase = fc.record({ classname: text, name: text, status: fc.constantFrom<TestCase['status']>('pass', 'fail', 'skip'), message: text, body: text, output: text });
  // Many cases per document: each validation starts libxml2 afresh (~0.1 s).
  await fc.assert(fc.asyncProperty(text, fc.array(testCase, { maxLength: 20 }), async (name, cases) => {
    const xml = renderJUnit(name, [{ name, cases }]);
    assert.deepEqual(await junitErrors(xml), [], xml);
  }), { numRuns: 15 });
});
