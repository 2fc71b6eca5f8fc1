// What `connectivity` is doing, for people, while it runs: on a terminal a
// live block redrawn in place (LiveBlock: within the screen, at most ten
// redraws a second); in a pipe a time-stamped line per object written, per
// phase, and when a count moves by a tenth (a few dozen lines on 500 nodes).
import type { Writable } from 'node:stream';
import { describeNotReady, type NotReadyPod } from '../calico/connectivity/diagnosis.ts';
import type { ProbeResult } from '../calico/connectivity/probe.ts';
import type { RunProgress } from '../calico/connectivity/run.ts';
import type { Probe } from '../calico/connectivity/scenarios.ts';
import type { Palette } from './color.ts';
import { LiveBlock, stamped, type Terminal } from './progress.ts';

export class ConnectivityProgress implements RunProgress {
  private readonly out: Writable;
  private readonly block: LiveBlock | undefined;
  private readonly colors: Palette;
  private readonly namespace: string;
  private readonly started = performance.now();
  private current = 'checking permissions';
  private podCounts = { ready: 0, expected: 0 };
  private stuck: () => NotReadyPod[] = () => [];
  private probes = { planned: 0, done: 0, failed: 0 };
  private readonly inFlight = new Set<Probe>();
  private lastLogged = { pods: -1, probes: -1 };
  private lastLine = '';

  /** `tty`: `out` is a terminal, for the live block; else log lines. */
  constructor(out: Writable, tty: boolean, colors: Palette, namespace: string) {
    this.out = out;
    this.colors = colors;
    this.namespace = namespace;
    this.block = tty ? new LiveBlock(out as Terminal, () => this.lines()) : undefined;
  }

  private lines(): string[] {
    const seconds = Math.floor((performance.now() - this.started) / 1000);
    const lines = [`Testing connectivity in namespace ${this.namespace} (${seconds}s): ${this.current}`];
    if (this.podCounts.expected) lines.push(`  pods:   ${this.podCounts.ready}/${this.podCounts.expected} ready`);
    if (this.probes.planned) lines.push(`  probes: ${this.probes.done}/${this.probes.planned} done, ${this.probes.failed ? this.colors.bad(`${this.probes.failed} failed`) : '0 failed'}`);
    if (this.lastLine) lines.push(`  ${this.lastLine}`);
    return lines;
  }

  private write(text: string): void {
    if (this.block) this.block.update();
    else this.out.write(stamped(text));
  }

  log(line: string): void {
    this.lastLine = line;
    this.write(line);
  }

  phase(name: string): void {
    this.current = name;
    this.write(`${name}`);
  }

  pods(ready: number, expected: number, stuck: () => NotReadyPod[]): void {
    this.podCounts = { ready, expected };
    this.stuck = stuck;
    if (this.block) return this.block.update();
    if (tenth(this.lastLogged.pods, ready, expected)) {
      this.lastLogged.pods = ready;
      this.out.write(stamped(`pods: ${ready}/${expected} ready`));
    }
  }

  planned(total: number): void {
    this.probes.planned += total;
  }

  start(probe: Probe): void {
    this.inFlight.add(probe);
  }

  done(result: ProbeResult, probe?: Probe): void {
    if (probe) this.inFlight.delete(probe);
    this.probes.done++;
    if (result.result === 'FAIL' || result.result === 'ERROR') this.probes.failed++;
    if (this.block) return this.block.update();
    if (tenth(this.lastLogged.probes, this.probes.done, this.probes.planned)) {
      this.lastLogged.probes = this.probes.done;
      this.out.write(stamped(`probes: ${this.probes.done}/${this.probes.planned} done, ${this.probes.failed} failed`));
    }
  }

  running(): string {
    if (this.current === 'deploying') {
      if (!this.podCounts.expected) return 'deploying (writing the namespace and the workload)';
      const stuck = this.stuck();
      return `deploying, ${this.podCounts.ready}/${this.podCounts.expected} pods ready${stuck.length ? `; not ready: ${describeNotReady(stuck)}` : ''}`;
    }
    if (this.current.startsWith('probing')) {
      const flying = [...this.inFlight];
      const first = flying[0];
      return `${this.current}, ${this.probes.done}/${this.probes.planned} probes done${first ? `; in flight: ${first.scenario} ${first.from.node} -> ${first.to.node ?? first.to.name ?? first.to.ip}${flying.length > 1 ? ` and ${flying.length - 1} more` : ''}` : ''}`;
    }
    return this.current;
  }

  finish(): void {
    this.block?.finish();
  }
}

/** A count worth a log line: its first value, the end, or a tenth of the total since the last line. */
function tenth(last: number, now: number, total: number): boolean {
  return last < 0 || now === total || now - last >= Math.max(1, Math.ceil(total / 10));
}
