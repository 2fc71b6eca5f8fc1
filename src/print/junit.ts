// JUnit XML for CI systems, one writer for every command that reports test
// cases (doctor's checks, connectivity's scenarios). The output is valid
// against the Jenkins JUnit schema (test/fixtures/junit/jenkins-junit.xsd),
// which is the strictest of the common readers' formats: <skipped> carries
// its reason as text (no attributes), <testsuites> counts no skipped cases,
// and a case's children come in the order skipped, failure, system-out.

export type CaseStatus = 'pass' | 'fail' | 'skip';

export interface TestCase {
  classname: string;
  name: string;
  status: CaseStatus;
  /** One line: a failure's message attribute, or why a case was skipped. */
  message?: string;
  /** A failure's body: the details (failed probes, the fix). */
  body?: string;
  /** What a passing or failing case also reports (system-out). */
  output?: string;
  seconds?: number;
}

export interface TestSuite {
  name: string;
  cases: TestCase[];
  seconds?: number;
}

export function renderJUnit(name: string, suites: TestSuite[]): string {
  const count = (cases: TestCase[], status: CaseStatus) => cases.filter((c) => c.status === status).length;
  const all = suites.flatMap((s) => s.cases);
  const time = (seconds: number | undefined) => (seconds === undefined ? '' : ` time="${seconds.toFixed(3)}"`);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(name)}" tests="${all.length}" failures="${count(all, 'fail')}" errors="0"${time(sumSeconds(suites))}>`,
  ];
  for (const suite of suites) {
    lines.push(`  <testsuite name="${attr(suite.name)}" tests="${suite.cases.length}" failures="${count(suite.cases, 'fail')}" errors="0" skipped="${count(suite.cases, 'skip')}"${time(suite.seconds)}>`);
    for (const c of suite.cases) lines.push(`    <testcase classname="${attr(c.classname)}" name="${attr(c.name)}"${time(c.seconds)}>${caseBody(c)}</testcase>`);
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function caseBody(c: TestCase): string {
  const output = c.output ? `<system-out>${text(c.output)}</system-out>` : '';
  if (c.status === 'skip') return `<skipped>${text(c.message ?? '')}</skipped>`;
  if (c.status === 'fail') return `<failure message="${attr(c.message ?? '')}" type="FAIL">${text(c.body ?? '')}</failure>${output}`;
  return output;
}

function sumSeconds(suites: TestSuite[]): number | undefined {
  return suites.every((s) => s.seconds !== undefined) && suites.length ? suites.reduce((sum, s) => sum + s.seconds!, 0) : undefined;
}

/** Characters XML 1.0 cannot carry at all (control characters but tab and newlines) are dropped. */
function clean(value: string): string {
  return value.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, '');
}

function text(value: string): string {
  return clean(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values also escape quotes, and newlines and tabs, which attribute normalisation would turn into spaces. */
function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
