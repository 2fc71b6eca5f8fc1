// The connectivity report, one facts object for every form: the kubectl-style
// table (a row per scenario, then a row per failed probe, capped), the summary
// and the findings as text; the ConnectivityReport document for -o json|yaml
// (every probe); and JUnit, one test case per scenario.
import type { Palette } from '../../print/color.ts';
import { renderJUnit, type TestCase } from '../../print/junit.ts';
import { tabwrite } from '../../print/table.ts';
import { plural, type Finding } from './diagnosis.ts';
import type { ProbeResult, Result } from './probe.ts';
import type { Target } from './scenarios.ts';

export interface ScenarioReport {
  name: string;
  summary: string;
  result: Result;
  /** Why it did not run (SKIP). */
  reason?: string;
  probes: { passed: number; failed: number; errors: number; skipped: number };
}

export interface ConnectivityDoc {
  namespace: string;
  image: string;
  nodes: { selected: number; probed: number; notProbed: { node: string; reason: string }[] };
  pairs: { probed: number; total: number };
  scenarios: ScenarioReport[];
  probes: ProbeResult[];
  findings: Finding[];
  summary: { scenarios: Record<'passed' | 'failed' | 'skipped', number>; probes: Record<'passed' | 'failed' | 'errors' | 'skipped', number> };
  /** `deleted`, or `kept` with --keep. */
  cleanup: 'deleted' | 'kept';
  seconds: number;
}

/** Failed probes listed under a scenario in the table; -o json has every one. */
const ROWS_PER_SCENARIO = 10;
/** Findings the text lists (each names its nodes, summarised); -o json has every one. */
const FINDINGS_SHOWN = 10;

export function scenarioReport(name: string, summary: string, results: ProbeResult[], unavailable: string | undefined): ScenarioReport {
  const count = (result: Result) => results.filter((r) => r.result === result).length;
  const probes = { passed: count('PASS'), failed: count('FAIL'), errors: count('ERROR'), skipped: count('SKIP') };
  if (unavailable !== undefined) return { name, summary, result: 'SKIP', reason: unavailable, probes };
  if (probes.failed + probes.errors > 0) return { name, summary, result: 'FAIL', probes };
  if (probes.passed === 0) {
    const why = results.find((r) => r.result === 'SKIP')?.detail ?? 'no probe applies to the probed nodes';
    return { name, summary, result: 'SKIP', reason: why, probes };
  }
  return { name, summary, result: 'PASS', probes };
}

/** The node pairs pod-to-pod-cross-node probed; on an IPv6-only cluster, pod-to-pod-cross-node-ipv6. */
export function probedPairs(probes: ProbeResult[]): number {
  const cross = (scenario: string) => probes.filter((p) => p.scenario === scenario);
  const v4 = cross('pod-to-pod-cross-node');
  return new Set((v4.length ? v4 : cross('pod-to-pod-cross-node-ipv6')).map((p) => `${p.from.node}\n${p.to.node}`)).size;
}

/** Where a probe went, as a table cell. */
function targetCell(to: Target): string {
  if (to.kind === 'pod') return to.node!;
  if (to.kind === 'host') return `${to.node} (host)`;
  if (to.kind === 'service') return `service/${to.name}`;
  return `${to.name ?? to.ip}:${to.port}`;
}

function address(to: Target): string {
  const host = (to.kind === 'service' ? to.ip : to.name ?? to.ip) ?? '';
  return host.includes(':') ? `[${host}]:${to.port}` : `${host}:${to.port}`;
}

/** The FROM and TO cells of a scenario's own row: how many nodes on each side. */
function sides(probes: ProbeResult[], pairs: ConnectivityDoc['pairs']): [string, string] {
  if (!probes.length) return ['-', '-'];
  const from = new Set(probes.map((p) => p.from.node));
  const fromCell = probes[0]!.from.host ? `hosts of ${plural(from.size, 'node')}` : plural(from.size, 'node');
  const to = probes[0]!.to;
  if (to.kind === 'pod') {
    if (probes.every((p) => p.to.node === p.from.node)) return [fromCell, 'same node'];
    const nodes = new Set(probes.map((p) => p.to.node));
    return [fromCell, /cross-node/.test(probes[0]!.scenario) ? `${plural(nodes.size, 'node')} (${pairs.probed} of ${pairs.total} pairs)` : plural(nodes.size, 'node')];
  }
  if (to.kind === 'host') return [fromCell, `hosts of ${plural(new Set(probes.map((p) => p.to.node)).size, 'node')}`];
  if (to.kind === 'service') return [fromCell, `service/${to.name} ${address(to)}`];
  return [fromCell, targetCell(to)];
}

/** Whether the run failed (exit 1): a scenario failed, or a finding is an error. */
export function failed(doc: ConnectivityDoc): boolean {
  return doc.scenarios.some((s) => s.result === 'FAIL') || doc.findings.some((f) => f.severity === 'error');
}

export function renderText(doc: ConnectivityDoc, colors: Palette): string {
  const color = (result: string) => (result === 'PASS' ? colors.good(result) : result === 'FAIL' || result === 'ERROR' ? colors.bad(result) : result === 'SKIP' ? colors.warn(result) : result);
  const rows: string[][] = [['SCENARIO', 'FROM', 'TO', 'RESULT', 'DETAIL']];
  for (const scenario of doc.scenarios) {
    const probes = doc.probes.filter((p) => p.scenario === scenario.name);
    const [from, to] = sides(probes, doc.pairs);
    const { passed, failed, errors, skipped } = scenario.probes;
    const total = passed + failed + errors + skipped;
    const detail = scenario.result === 'SKIP' && scenario.reason ? scenario.reason
      : `${passed}/${total - skipped} probes passed${skipped ? `, ${skipped} skipped (${probes.find((p) => p.result === 'SKIP')?.detail})` : ''}`;
    rows.push([scenario.name, from, to, color(scenario.result), detail]);
    const bad = probes.filter((p) => p.result === 'FAIL' || p.result === 'ERROR');
    for (const p of bad.slice(0, ROWS_PER_SCENARIO)) {
      rows.push([scenario.name, p.from.host ? `${p.from.node} (host)` : p.from.node, targetCell(p.to), color(p.result), `${address(p.to)}: ${p.detail}`]);
    }
    if (bad.length > ROWS_PER_SCENARIO) rows.push([scenario.name, '', '', '', `… and ${bad.length - ROWS_PER_SCENARIO} more failed probes (-o json lists every probe)`]);
  }
  const s = doc.summary;
  const lines = [
    tabwrite(rows).trimEnd(),
    '',
    `${plural(doc.scenarios.length, 'scenario')}: ${s.scenarios.passed} passed, ${s.scenarios.failed} failed, ${s.scenarios.skipped} skipped; ` +
    `${plural(doc.probes.length, 'probe')}: ${s.probes.passed} passed, ${s.probes.failed} failed, ${s.probes.errors} not run${s.probes.skipped ? `, ${s.probes.skipped} skipped` : ''}; ` +
    `${doc.nodes.probed} of ${plural(doc.nodes.selected, 'node')} probed, ${doc.pairs.probed} of ${plural(doc.pairs.total, 'cross-node pair')} (${doc.seconds.toFixed(1)}s).`,
  ];
  if (doc.findings.length) {
    lines.push('', 'Findings:');
    for (const f of doc.findings.slice(0, FINDINGS_SHOWN)) lines.push(`  ${f.severity === 'info' ? 'note' : colors.bad('error')} ${f.id}: ${f.cause}`, `    fix: ${f.fix}`);
    if (doc.findings.length > FINDINGS_SHOWN) lines.push(`  … and ${plural(doc.findings.length - FINDINGS_SHOWN, 'more finding')} (-o json lists every one)`);
  }
  lines.push('', doc.cleanup === 'deleted' ? `Cleaned up: namespace ${doc.namespace} deleted.` : `Kept namespace ${doc.namespace} (--keep); delete it with: kubectl delete namespace ${doc.namespace}`);
  return `${lines.join('\n')}\n`;
}

export function renderConnectivityJUnit(doc: ConnectivityDoc): string {
  const cases = doc.scenarios.map((scenario): TestCase => {
    const base = { classname: 'calico.connectivity', name: scenario.name, seconds: doc.probes.filter((p) => p.scenario === scenario.name).reduce((max, p) => Math.max(max, p.seconds), 0) };
    const { passed, failed, errors } = scenario.probes;
    if (scenario.result === 'SKIP') return { ...base, status: 'skip', message: scenario.reason ?? 'skipped' };
    if (scenario.result === 'PASS') return { ...base, status: 'pass', output: `${passed}/${passed} probes passed: ${scenario.summary}` };
    const bad = doc.probes.filter((p) => p.scenario === scenario.name && (p.result === 'FAIL' || p.result === 'ERROR'));
    const findings = doc.findings.filter((f) => f.scenarios.includes(scenario.name));
    const body = [
      ...bad.map((p) => `${p.result} ${p.from.pod} (${p.from.node}) -> ${p.to.pod ? `${p.to.pod} (${p.to.node}) ` : ''}${address(p.to)}: ${p.detail}`),
      ...findings.flatMap((f) => ['', `finding ${f.id}: ${f.cause}`, `fix: ${f.fix}`]),
    ].join('\n');
    return { ...base, status: 'fail', message: `${failed + errors} of ${passed + failed + errors} probes failed: ${scenario.summary}`, body };
  });
  return renderJUnit('kubectl calico connectivity', [{ name: 'calico-connectivity', cases, seconds: doc.seconds }]);
}
