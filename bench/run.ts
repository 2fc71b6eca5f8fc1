// npm run bench: every benchmark, side by side with what people use
// instead, as a markdown table printed and kept in bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { benchGuideApply, benchPluginApply, type ApplyFigures } from './apply.ts';
import { benchConnectivity, type ConnectivityFigures } from './connectivity.ts';
import { benchConnectivityScript, SCRIPT_SAMPLE_NODES, type ConnectivityScriptFigures } from './connectivity-script.ts';
import { benchIpamShow } from './ipam-show.ts';
import { median, type Measurement } from './measure.ts';
import { benchDiags } from './diags.ts';
import { benchDoctor } from './doctor.ts';
import { benchNodeStatus } from './node-status.ts';
import { benchReadiness } from './readiness.ts';
import { benchReady, benchRollout } from './rollout.ts';
import { benchStartup, KUBECTL } from './startup.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const say = (text: string) => process.stderr.write(`${text}\n`);
const ms = (n: number) => `${Math.round(n)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const spread = (runs: { ms: number }[]) => `runs ${Math.round(Math.min(...runs.map((r) => r.ms)))}–${ms(Math.max(...runs.map((r) => r.ms)))}`;
const met = (ok: boolean) => (ok ? 'met' : '**missed**');

type Row = string[];
const thousands = (n: number) => n.toLocaleString('en-US');

/**
 * The figures, in the table's order; each a name for --only, what it says while it runs, and its rows.
 * `node bench/run.ts --only ipam-show,rollout-5000` runs those alone and prints their rows without writing
 * RESULTS.md; without --only every figure runs and RESULTS.md is written.
 */
const FIGURES: { name: string; doing: string; rows: () => Promise<Row[]> }[] = [
  {
    name: 'startup',
    doing: 'start-up',
    rows: async () => {
      const startup = await benchStartup(ROOT);
      // Our own share: the binary's time beyond the stock Node it is made from starting and running nothing.
      return Object.entries(startup.commands).map(([command, f]) => [
        `Start-up: \`${command}\` (median of ${startup.runs})`,
        `${ms(f.ms)}; own share ${ms(f.ms - startup.node.ms)}; CPU ${ms(f.cpuMs)}`,
        `kubectl ${ms(startup.kubectl.ms)} (${ratio(f.ms, startup.kubectl.ms)}), CPU ${ms(startup.kubectl.cpuMs)}; node -e 0 ${ms(startup.node.ms)}, CPU ${ms(startup.node.cpuMs)}`,
        '≤ 1.0× kubectl, own share ≤ 25 ms',
        met(f.ms <= startup.kubectl.ms && f.ms - startup.node.ms <= 25),
      ]);
    },
  },
  {
    name: 'apply',
    doing: 'apply',
    rows: async () => {
      const APPLY_RUNS = 5;
      const OBJECTS = 31;
      const pluginRuns: ApplyFigures[] = [];
      const guideRuns: ApplyFigures[] = [];
      for (let i = 0; i < APPLY_RUNS; i++) {
        pluginRuns.push(await benchPluginApply(ROOT));
        guideRuns.push(await benchGuideApply(ROOT));
      }
      // One cluster per run, interleaved; the median run of each side.
      const plugin = { ms: median(pluginRuns.map((r) => r.ms)), requests: Math.max(...pluginRuns.map((r) => r.requests)) };
      const guide = { ms: median(guideRuns.map((r) => r.ms)), requests: Math.max(...guideRuns.map((r) => r.requests)) };
      return [
        ['Apply v3.29.0, 20 ms per request: wall', `${ms(plugin.ms)} (${spread(pluginRuns)})`, `guide ${ms(guide.ms)} (${spread(guideRuns)}; ${ratio(plugin.ms, guide.ms)})`, '≤ 0.5× the guide', met(plugin.ms <= 0.5 * guide.ms)],
        ['Apply v3.29.0: requests', String(plugin.requests), `guide ${guide.requests}; ${OBJECTS} objects`, '≤ objects + a few', met(plugin.requests <= OBJECTS + 10)],
      ];
    },
  },
  {
    name: 'readiness',
    doing: 'readiness detection',
    rows: async () => {
      const readiness = await benchReadiness(ROOT);
      return [['Readiness detection (median)', ms(readiness.wait), `watch -n 2: ${ms(readiness.watch)} on average`, '≤ 100 ms', met(readiness.wait <= 100)]];
    },
  },
  {
    name: 'doctor',
    doing: 'doctor on 5,000 nodes and 50,000 pods',
    rows: async () => {
      const doctor = await benchDoctor();
      return [
        ['Doctor, 5,000 nodes / 50,000 pods: wall', `${doctor.doctor.seconds.toFixed(2)} s`, `kubectl get pods -A -o json ${doctor.kubectl.seconds.toFixed(2)} s (${ratio(doctor.doctor.seconds, doctor.kubectl.seconds)})`, '< 3 s and ≤ kubectl', met(doctor.doctor.seconds < 3 && doctor.doctor.seconds <= doctor.kubectl.seconds)],
        ['Doctor: peak memory', `${doctor.doctor.peakMiB.toFixed(0)} MiB`, `kubectl ${doctor.kubectl.peakMiB.toFixed(0)} MiB`, '< 300 MB', met(doctor.doctor.peakMiB * 1.048576 < 300)],
        ['Doctor: requests', String(doctor.requests), '', '', ''],
      ];
    },
  },
  {
    name: 'rollout',
    doing: 'wait and status on 2,000 nodes',
    rows: async () => {
      const rollout = await benchRollout(2000);
      const { wait, status } = rollout;
      return [
        ['Wait, fresh install on 2,000 nodes: CPU (user + sys)', `${wait.cpuSeconds.toFixed(2)} s of ${wait.seconds.toFixed(1)} s wall${wait.unready ? ` (**${wait.unready}**)` : ''}`, `${wait.events} watch events (${wait.megabytes.toFixed(1)} MB), ${wait.peakMiB.toFixed(0)} MiB peak`, '< 3 s', met(!wait.unready && wait.cpuSeconds < 3)],
        ['Wait, 2,000 nodes: lines printed in a pipe', String(wait.lines), 'the status summary included', '≤ 300', met(!wait.unready && wait.lines <= 300)],
        status
          ? ['Status, 2,000 healthy nodes', `${status.lines} lines, ${status.seconds.toFixed(2)} s`, `${status.cpuSeconds.toFixed(2)} s CPU, ${status.peakMiB.toFixed(0)} MiB peak`, '≤ 40 lines', met(status.lines <= 40)]
          : ['Status, 2,000 healthy nodes', 'not measured: the cluster did not become ready', '', '≤ 40 lines', '**missed**'],
      ];
    },
  },
  {
    name: 'wait-5000',
    doing: 'wait on a fresh install of 5,000 nodes',
    rows: async () => {
      const { wait } = await benchRollout(5000);
      return [[
        'Wait, fresh install on 5,000 nodes: wall, CPU, memory, lines',
        `${wait.unready ? `**${wait.unready}**: ` : ''}${wait.seconds.toFixed(1)} s, ${wait.cpuSeconds.toFixed(2)} s CPU, ${wait.peakMiB.toFixed(0)} MiB peak, ${wait.lines} lines`,
        `${thousands(wait.events)} watch events (${wait.megabytes.toFixed(1)} MB); no kubectl equivalent on a fresh install (\`kubectl wait --all\` finds nothing until the operator has made the pods; see readiness detection)`,
        '', '',
      ]];
    },
  },
  {
    name: 'ready-5000',
    doing: 'status and wait on a ready cluster of 5,000 nodes, beside kubectl',
    rows: async () => {
      const r = await benchReady(5000);
      const k = r.kubectlWait;
      const figures = (m: Measurement) => `${m.seconds.toFixed(2)} s, ${m.cpuSeconds.toFixed(2)} s CPU, ${m.peakMiB.toFixed(0)} MiB peak, ${thousands(m.lines)} lines`;
      return [
        ['Status, 5,000 healthy nodes', figures(r.status), `kubectl get pods -n calico-system, get nodes, get tigerastatus: ${figures(r.kubectlStatus)} (${ratio(r.status.seconds, r.kubectlStatus.seconds)})`, '', ''],
        ['Wait, ready cluster of 5,000 nodes', figures(r.wait), `kubectl wait --for=condition=Ready, one object after another: ${k.perPod.toFixed(3)} s a pod, ${k.perNode.toFixed(3)} s a node (${k.sampled} of each timed), ≈ ${k.estimate.toFixed(0)} s for ${thousands(k.pods)} Calico pods, ${thousands(k.nodes)} nodes and ${k.tigerastatuses} TigeraStatus`, '', ''],
      ];
    },
  },
  {
    name: 'node-status',
    doing: 'node status on 2,000 nodes with route reflectors',
    rows: async () => {
      const nodeStatus = await benchNodeStatus(2000);
      return [
        ['Node status, 2,000 nodes with route reflectors: wall', `${nodeStatus.plugin.seconds.toFixed(1)} s (${nodeStatus.plugin.execs} execs, exit ${nodeStatus.plugin.code})`, `a loop of kubectl exec … birdcl show protocols: ${nodeStatus.loop.perPodSeconds.toFixed(2)} s a pod, ≈ ${(nodeStatus.loop.perPodSeconds * 2000).toFixed(0)} s for 2,000 (BIRD's table only)`, '< 60 s', met(nodeStatus.plugin.seconds < 60 && nodeStatus.plugin.code === 0)],
        ['Node status, 2,000 nodes: CPU, memory, lines', `${nodeStatus.plugin.cpuSeconds.toFixed(2)} s CPU, ${nodeStatus.plugin.peakMiB.toFixed(0)} MiB peak`, `${nodeStatus.plugin.lines} lines printed`, '', ''],
      ];
    },
  },
  {
    name: 'connectivity',
    doing: 'connectivity on 3 and 500 nodes, beside a kubectl run/exec script',
    rows: async () => {
      const CONNECTIVITY_RUNS = 3;
      const small: ConnectivityFigures[] = [];
      for (let i = 0; i < CONNECTIVITY_RUNS; i++) small.push(await benchConnectivity(3));
      const connectivity3 = small.sort((a, b) => a.seconds - b.seconds)[Math.floor(CONNECTIVITY_RUNS / 2)]!;
      const script3 = await benchConnectivityScript(3);
      const connectivity500 = await benchConnectivity(500);
      const script500 = await benchConnectivityScript(500, SCRIPT_SAMPLE_NODES);
      return [[connectivity3, script3, 15], [connectivity500, script500, 60]].flatMap(([c, s, target]) => {
        const r = c as ConnectivityFigures;
        const by = s as ConnectivityScriptFigures;
        const checked = by.failed ? `; **${by.failed} of its probes failed**` : '';
        const script = by.ran.nodes === by.nodes
          ? `a kubectl run/exec script: ${by.seconds.toFixed(1)} s (one run; ${ratio(r.seconds, by.seconds)}), ${by.cpuSeconds.toFixed(2)} s CPU${checked}`
          : `a kubectl run/exec script, timed on ${by.ran.nodes} nodes (${by.ran.pods} pods, ${by.ran.execs + by.ran.blocked} execs) and scaled: ${by.perPod.toFixed(2)} s a kubectl run, ${by.perExec.toFixed(2)} s an exec, ${by.perBlocked.toFixed(2)} s a blocked one, ${by.fixed.toFixed(1)} s the rest, ≈ ${by.estimate.toFixed(0)} s for ${thousands(by.full.pods)} pods and ${thousands(by.full.execs + by.full.blocked)} execs (${ratio(r.seconds, by.estimate)})${checked}`;
        return [
          [`Connectivity, ${r.nodes} nodes: deploy to clean-up`, `${r.seconds.toFixed(1)} s${r.nodes === 3 ? ` (median of ${CONNECTIVITY_RUNS})` : ''}, ${r.cpuSeconds.toFixed(2)} s CPU, ${r.peakMiB.toFixed(0)} MiB peak`, script, `< ${target} s`, met(r.passed && r.seconds < (target as number))],
          [`Connectivity, ${r.nodes} nodes: probes, requests, lines`, `${r.probes} probes (${r.execs} execs), ${r.requests} other requests, ${r.lines} lines${r.passed ? '' : `; **exit ${r.code}**`}`, `the script${by.ran.nodes === by.nodes ? '' : ` on ${by.ran.nodes} nodes`}: ${by.passed + by.failed} probes (${by.execRequests} execs), ${by.requests} other requests, ${by.lines} lines`, '', ''],
        ];
      });
    },
  },
  {
    name: 'ipam-show',
    doing: 'ipam show on 2,000 nodes',
    rows: async () => {
      const ipam = await benchIpamShow(2000);
      const figures = (m: Measurement) => `${m.seconds.toFixed(2)} s, ${m.cpuSeconds.toFixed(2)} s CPU, ${m.peakMiB.toFixed(0)} MiB peak, ${m.lines} line${m.lines === 1 ? '' : 's'}`;
      return [
        [`IPAM show, 2,000 nodes (median of ${ipam.runs})`, `${figures(ipam.plugin)}; ${ipam.plugin.requests} requests`, `kubectl get ipamblocks -o json \\| jq (blocks and addresses in use, not by pool): ${figures(ipam.kubectl)} (${ratio(ipam.plugin.seconds, ipam.kubectl.seconds)}); ${ipam.kubectl.requests} requests`, '', ''],
      ];
    },
  },
  {
    name: 'diags',
    doing: 'diags on 500 nodes',
    rows: async () => {
      const diags = await benchDiags(500);
      return [['Diags, 500 nodes, default node choice', `${diags.seconds.toFixed(1)} s, ${(diags.bytes / 1e6).toFixed(1)} MB`, `${diags.files} files, ${diags.logs} log requests, ${diags.execs} execs; ${diags.cpuSeconds.toFixed(2)} s CPU, ${diags.peakMiB.toFixed(0)} MiB peak`, '< 30 s and < 50 MB', met(diags.code === 0 && diags.seconds < 30 && diags.bytes < 50e6)]];
    },
  },
  {
    name: 'size',
    doing: 'sizes',
    rows: async () => {
      const binary = fs.statSync(path.join(ROOT, 'dist', 'kubectl-calico')).size;
      const archive = zlib.gzipSync(fs.readFileSync(path.join(ROOT, 'dist', 'kubectl-calico')), { level: 6 }).length;
      const kubectlSize = fs.statSync(KUBECTL).size;
      return [
        ['Size: linux/amd64 binary', mb(binary), `kubectl ${mb(kubectlSize)}`, '', ''],
        ['Size: linux/amd64 archive (gzip)', mb(archive), '', '< 50 MB', met(archive < 50e6)],
      ];
    },
  },
];

const { values: flags } = parseArgs({ options: { only: { type: 'string' } } });
const only = flags.only?.split(',').map((n) => n.trim()).filter(Boolean);
const unknown = (only ?? []).filter((n) => !FIGURES.some((f) => f.name === n));
if (unknown.length) {
  say(`unknown figure ${unknown.join(', ')}; the figures are: ${FIGURES.map((f) => f.name).join(', ')}`);
  process.exit(2);
}

const loadAtStart = os.loadavg()[0]!.toFixed(1);
const rows: Row[] = [];
for (const figure of FIGURES) {
  if (only && !only.includes(figure.name)) continue;
  say(`${figure.doing} … (load average ${os.loadavg()[0]!.toFixed(1)})`);
  rows.push(...(await figure.rows()));
}
const table = ['| measure | kubectl-calico | compared with | target | |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').trim();
const kubectlVersion = execFileSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' }).split('\n')[0];
const machine = `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.arch()}; kubectl ${(kubectlVersion ?? '').replace('Client Version: ', '')}; ${new Date().toISOString().slice(0, 10)}; load average ${loadAtStart} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (other work on the machine slows every figure)`;
process.stdout.write(`${table}\n`);

if (only) {
  say(`--only ${only.join(',')}: ${machine}; bench/RESULTS.md left as it was (it is written by a full run)`);
} else {
  const notes = fs.readFileSync(path.join(ROOT, 'bench', 'NOTES.md'), 'utf8');
  fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), `# Benchmark results\n\nMachine: ${machine}. Absolute times on these shared machines drift; compare the ratios. Written by \`npm run bench\`.\n\n${table}\n\n${notes}`);
}
