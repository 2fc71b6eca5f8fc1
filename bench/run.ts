// npm run bench: every benchmark, side by side with what people use
// instead, as a markdown table printed and kept in bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { benchGuideApply, benchPluginApply, type ApplyFigures } from './apply.ts';
import { benchConnectivity, type ConnectivityFigures } from './connectivity.ts';
import { median } from './measure.ts';
import { benchDiags } from './diags.ts';
import { benchDoctor } from './doctor.ts';
import { benchNodeStatus } from './node-status.ts';
import { benchReadiness } from './readiness.ts';
import { benchRollout } from './rollout.ts';
import { benchStartup, KUBECTL } from './startup.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const say = (text: string) => process.stderr.write(`${text}\n`);
const ms = (n: number) => `${Math.round(n)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const spread = (runs: { ms: number }[]) => `runs ${Math.round(Math.min(...runs.map((r) => r.ms)))}–${ms(Math.max(...runs.map((r) => r.ms)))}`;
const met = (ok: boolean) => (ok ? 'met' : '**missed**');

const loadAtStart = os.loadavg()[0]!.toFixed(1);
say('start-up …');
const startup = await benchStartup(ROOT);
say('apply …');
const APPLY_RUNS = 5;
const pluginRuns: ApplyFigures[] = [];
const guideRuns: ApplyFigures[] = [];
for (let i = 0; i < APPLY_RUNS; i++) {
  pluginRuns.push(await benchPluginApply(ROOT));
  guideRuns.push(await benchGuideApply(ROOT));
}
// One cluster per run, interleaved; the median run of each side.
const plugin = { ms: median(pluginRuns.map((r) => r.ms)), requests: Math.max(...pluginRuns.map((r) => r.requests)) };
const guide = { ms: median(guideRuns.map((r) => r.ms)), requests: Math.max(...guideRuns.map((r) => r.requests)) };
say('readiness detection …');
const readiness = await benchReadiness(ROOT);
say('doctor on 5,000 nodes and 50,000 pods …');
const doctor = await benchDoctor();
say('wait and status on 2,000 nodes …');
const rollout = await benchRollout(2000);
say('node status on 2,000 nodes with route reflectors …');
const nodeStatus = await benchNodeStatus(2000);
say('connectivity on 3 and 500 nodes …');
const CONNECTIVITY_RUNS = 3;
const small: ConnectivityFigures[] = [];
for (let i = 0; i < CONNECTIVITY_RUNS; i++) small.push(await benchConnectivity(3));
const connectivity3 = small.sort((a, b) => a.seconds - b.seconds)[Math.floor(CONNECTIVITY_RUNS / 2)]!;
const connectivity500 = await benchConnectivity(500);
say('diags on 500 nodes …');
const diags = await benchDiags(500);
const binary = fs.statSync(path.join(ROOT, 'dist', 'kubectl-calico')).size;
const archive = zlib.gzipSync(fs.readFileSync(path.join(ROOT, 'dist', 'kubectl-calico')), { level: 6 }).length;
const kubectlSize = fs.statSync(KUBECTL).size;
const OBJECTS = 31;

const rows = [
  // Our own share: the binary's time beyond the stock Node it is made from starting and running nothing.
  ...Object.entries(startup.commands).map(([command, f]) => [
    `Start-up: \`${command}\` (median of ${startup.runs})`,
    `${ms(f.ms)}; own share ${ms(f.ms - startup.node.ms)}; CPU ${ms(f.cpuMs)}`,
    `kubectl ${ms(startup.kubectl.ms)} (${ratio(f.ms, startup.kubectl.ms)}), CPU ${ms(startup.kubectl.cpuMs)}; node -e 0 ${ms(startup.node.ms)}, CPU ${ms(startup.node.cpuMs)}`,
    '≤ 1.0× kubectl, own share ≤ 25 ms',
    met(f.ms <= startup.kubectl.ms && f.ms - startup.node.ms <= 25),
  ]),
  ['Apply v3.29.0, 20 ms per request: wall', `${ms(plugin.ms)} (${spread(pluginRuns)})`, `guide ${ms(guide.ms)} (${spread(guideRuns)}; ${ratio(plugin.ms, guide.ms)})`, '≤ 0.5× the guide', met(plugin.ms <= 0.5 * guide.ms)],
  ['Apply v3.29.0: requests', String(plugin.requests), `guide ${guide.requests}; ${OBJECTS} objects`, '≤ objects + a few', met(plugin.requests <= OBJECTS + 10)],
  ['Readiness detection (median)', ms(readiness.wait), `watch -n 2: ${ms(readiness.watch)} on average`, '≤ 100 ms', met(readiness.wait <= 100)],
  ['Doctor, 5,000 nodes / 50,000 pods: wall', `${doctor.doctor.seconds.toFixed(2)} s`, `kubectl get pods -A -o json ${doctor.kubectl.seconds.toFixed(2)} s (${ratio(doctor.doctor.seconds, doctor.kubectl.seconds)})`, '< 3 s and ≤ kubectl', met(doctor.doctor.seconds < 3 && doctor.doctor.seconds <= doctor.kubectl.seconds)],
  ['Doctor: peak memory', `${doctor.doctor.peakMiB.toFixed(0)} MiB`, `kubectl ${doctor.kubectl.peakMiB.toFixed(0)} MiB`, '< 300 MB', met(doctor.doctor.peakMiB * 1.048576 < 300)],
  ['Doctor: requests', String(doctor.requests), '', '', ''],
  ['Wait, fresh install on 2,000 nodes: CPU (user + sys)', `${rollout.wait.cpuSeconds.toFixed(2)} s of ${rollout.wait.seconds.toFixed(1)} s wall`, `${rollout.wait.events} watch events (${rollout.wait.megabytes.toFixed(1)} MB), ${rollout.wait.peakMiB.toFixed(0)} MiB peak`, '< 3 s', met(rollout.wait.cpuSeconds < 3)],
  ['Wait, 2,000 nodes: lines printed in a pipe', String(rollout.wait.lines), 'the status summary included', '≤ 300', met(rollout.wait.lines <= 300)],
  ['Status, 2,000 healthy nodes', `${rollout.status.lines} lines, ${rollout.status.seconds.toFixed(2)} s`, `${rollout.status.cpuSeconds.toFixed(2)} s CPU, ${rollout.status.peakMiB.toFixed(0)} MiB peak`, '≤ 40 lines', met(rollout.status.lines <= 40)],
  ['Node status, 2,000 nodes with route reflectors: wall', `${nodeStatus.plugin.seconds.toFixed(1)} s (${nodeStatus.plugin.execs} execs, exit ${nodeStatus.plugin.code})`, `a loop of kubectl exec … birdcl show protocols: ${nodeStatus.loop.perPodSeconds.toFixed(2)} s a pod, ≈ ${(nodeStatus.loop.perPodSeconds * 2000).toFixed(0)} s for 2,000 (BIRD's table only)`, '< 60 s', met(nodeStatus.plugin.seconds < 60 && nodeStatus.plugin.code === 0)],
  ['Node status, 2,000 nodes: CPU, memory, lines', `${nodeStatus.plugin.cpuSeconds.toFixed(2)} s CPU, ${nodeStatus.plugin.peakMiB.toFixed(0)} MiB peak`, `${nodeStatus.plugin.lines} lines printed`, '', ''],
  ...[[connectivity3, 15], [connectivity500, 60]].map(([c, target]) => {
    const r = c as ConnectivityFigures;
    return [`Connectivity, ${r.nodes} nodes: deploy to clean-up`, `${r.seconds.toFixed(1)} s${r.nodes === 3 ? ` (median of ${CONNECTIVITY_RUNS})` : ''}, ${r.cpuSeconds.toFixed(2)} s CPU, ${r.peakMiB.toFixed(0)} MiB peak`, `${r.probes} probes (${r.execs} execs), ${r.requests} other requests, ${r.lines} lines${r.passed ? '' : `; **exit ${r.code}**`}`, `< ${target} s`, met(r.passed && r.seconds < (target as number))];
  }),
  ['Diags, 500 nodes, default node choice', `${diags.seconds.toFixed(1)} s, ${(diags.bytes / 1e6).toFixed(1)} MB`, `${diags.files} files, ${diags.logs} log requests, ${diags.execs} execs; ${diags.cpuSeconds.toFixed(2)} s CPU, ${diags.peakMiB.toFixed(0)} MiB peak`, '< 30 s and < 50 MB', met(diags.code === 0 && diags.seconds < 30 && diags.bytes < 50e6)],
  ['Size: linux/amd64 binary', mb(binary), `kubectl ${mb(kubectlSize)}`, '', ''],
  ['Size: linux/amd64 archive (gzip)', mb(archive), '', '< 50 MB', met(archive < 50e6)],
];
const table = ['| measure | kubectl-calico | compared with | target | |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').trim();
const kubectlVersion = execFileSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' }).split('\n')[0];
const machine = `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.arch()}; kubectl ${(kubectlVersion ?? '').replace('Client Version: ', '')}; ${new Date().toISOString().slice(0, 10)}; load average ${loadAtStart} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (other work on the machine slows every figure)`;
process.stdout.write(`${table}\n`);

const notes = fs.readFileSync(path.join(ROOT, 'bench', 'NOTES.md'), 'utf8');
fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), `# Benchmark results\n\nMachine: ${machine}. Absolute times on these shared machines drift; compare the ratios. Written by \`npm run bench\`.\n\n${table}\n\n${notes}`);
