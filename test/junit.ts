// Validates JUnit XML against the Jenkins JUnit schema kept in
// test/fixtures/junit (see its README), with libxml2's xmllint as WebAssembly.
import fs from 'node:fs';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';

const SCHEMA = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'junit', 'jenkins-junit.xsd'), 'utf8');

/** The schema's complaints about `xml`; none when it is valid. */
export async function junitErrors(xml: string): Promise<string[]> {
  const result = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [{ fileName: 'jenkins-junit.xsd', contents: SCHEMA }] });
  return result.valid ? [] : result.errors.map((e) => e.rawMessage);
}
