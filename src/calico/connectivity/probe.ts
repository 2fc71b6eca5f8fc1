// Runs probes through pods/exec, a few dozen at once, and reads what each
// program said as the real programs say it: agnhost connect exits 0 when the
// connection opens, else 1 with TIMEOUT, REFUSED, DNS:, OTHER: or UNKNOWN:;
// dig +short prints the addresses it found and exits 9 when no server
// answered. A connection to a name is a lookup with dig (the pod's search
// path, one bounded try), then agnhost connect to the address. An exec that broke on the way (transport) is run again; a probe
// that ran and failed never is — except a policy probe, repeated while a new
// NetworkPolicy may still be on its way to the nodes. A probe that could not
// run (the image lacks the program, the pod is gone, the kubelet cannot be
// reached) is an ERROR, never a network failure.
import type { ExecError, ExecErrorKind, ExecOptions, ExecResult } from '../../kube/exec.ts';
import { connectCommand, type Probe } from './scenarios.ts';

export type Result = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';

export interface ProbeResult extends Probe {
  result: Result;
  /** What was seen: `connected`, `TIMEOUT`, `REFUSED`, `DNS: …`, `resolved 10.96.0.1`, or why it did not run. */
  detail: string;
  /** For an ERROR: how the exec failed. */
  error?: ExecErrorKind;
  attempts: number;
  seconds: number;
}

export type Execute = (options: Pick<ExecOptions, 'pod' | 'command' | 'timeoutMs' | 'signal'>) => Promise<ExecResult>;

/** Probes run at once: enough to keep a 500-node run short, few enough for any API server and its kubelets. */
export const CONCURRENCY = 32;
const TRANSPORT_ATTEMPTS = 3;
/** How long the exec itself may take beyond the probe's own timeout (connecting, the kubelet's stream). */
const EXEC_SLACK_MS = 15_000;
/** Between two runs of a policy probe that does not show the policy yet. */
const SETTLE_INTERVAL_MS = 1000;

export interface RunOptions {
  signal: AbortSignal;
  concurrency?: number;
  /** Until then (ms since the epoch), a probe whose result is not the expected one is run again (policy taking effect). */
  settleUntil?: number;
  onStart?: (probe: Probe) => void;
  onDone?: (result: ProbeResult, probe: Probe) => void;
}

export async function runProbes(execute: Execute, probes: Probe[], options: RunOptions): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array(probes.length);
  let next = 0;
  const worker = async () => {
    while (next < probes.length && !options.signal.aborted) {
      const index = next++;
      const probe = probes[index]!;
      options.onStart?.(probe);
      const result = await runProbe(execute, probe, options);
      results[index] = result;
      options.onDone?.(result, probe);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? CONCURRENCY, probes.length) }, worker));
  if (options.signal.aborted) throw options.signal.reason;
  return results;
}

async function runProbe(execute: Execute, probe: Probe, options: RunOptions): Promise<ProbeResult> {
  const started = performance.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const outcome = await attempt(execute, probe, options.signal);
    if (outcome.result === 'FAIL' && options.settleUntil !== undefined && Date.now() + SETTLE_INTERVAL_MS < options.settleUntil) {
      await pause(SETTLE_INTERVAL_MS, options.signal);
      continue;
    }
    return { ...probe, ...(outcome.address ? { to: { ...probe.to, ip: outcome.address } } : {}), result: outcome.result, detail: outcome.detail, ...(outcome.error ? { error: outcome.error } : {}), attempts, seconds: Math.round(performance.now() - started) / 1000 };
  }
}

type Outcome = Pick<ProbeResult, 'result' | 'detail' | 'error'> & { address?: string };

/** One run of a probe: for a connection to a name, the lookup, then the connection to the first address found. */
async function attempt(execute: Execute, probe: Probe, signal: AbortSignal): Promise<Outcome> {
  const byName = probe.to.ip === undefined && probe.expect !== 'resolve';
  const first = await run(execute, probe.from.pod, probe.command, probe.timeoutSeconds, signal);
  if ('error' in first) return first;
  if (!byName) return interpret(probe, first);
  const lookup = interpret({ ...probe, expect: 'resolve' }, first);
  if (lookup.result !== 'PASS') return { ...lookup, detail: lookup.result === 'FAIL' ? `DNS: ${lookup.detail.replace(/^DNS: /, '')}` : lookup.detail };
  const address = lookup.detail.replace(/^resolved /, '').split(', ')[0]!;
  const connection = await run(execute, probe.from.pod, connectCommand(address, probe.to.port!, probe.timeoutSeconds), probe.timeoutSeconds, signal);
  if ('error' in connection) return { ...connection, address };
  const judged = interpret(probe, connection);
  return { ...judged, address, detail: `resolved ${address}, ${judged.detail}` };
}

/** Runs a command, again after a transport failure; an error that is not the network's is an ERROR outcome. */
async function run(execute: Execute, pod: string, command: string[], timeoutSeconds: number, signal: AbortSignal): Promise<ExecResult | (Outcome & { error: ExecErrorKind })> {
  for (let failures = 0; ; ) {
    try {
      return await execute({ pod, command, timeoutMs: timeoutSeconds * 1000 + EXEC_SLACK_MS, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const failure = error as ExecError;
      if (failure.kind === undefined) throw error;
      if (failure.retryable && ++failures < TRANSPORT_ATTEMPTS) {
        await pause(250 * 2 ** failures, signal);
        continue;
      }
      return { result: 'ERROR', detail: execErrorDetail(failure), error: failure.kind };
    }
  }
}

/** Waits `ms`, or rejects when `signal` aborts first; either way nothing is left listening. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The words of an exec that could not run the probe, without the `running X in ns/pod` preamble the report already gives. */
function execErrorDetail(error: ExecError): string {
  if (error.kind === 'program-missing') return `${error.message.replace(/^running .*?: /, '')}: the image must be agnhost (--image)`;
  return error.message.replace(/^running .*? \(container [^)]*\): /, '');
}

/** What a finished program said, judged against what the probe expects. */
export function interpret(probe: Probe, exec: ExecResult): Pick<ProbeResult, 'result' | 'detail'> {
  const said = (exec.stderr.trim() || exec.stdout.trim()).split('\n')[0]!.trim();
  if (probe.expect === 'resolve') {
    const addresses = exec.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[\d.]+$|^[0-9a-f:]+:[0-9a-f:]*$/i.test(l));
    if (exec.exitCode === 0 && addresses.length) return { result: 'PASS', detail: `resolved ${addresses.join(', ')}` };
    if (exec.exitCode === 0) return { result: 'FAIL', detail: 'no address (the name does not exist, or has no record)' };
    if (exec.exitCode === 9) return { result: 'FAIL', detail: `DNS: ${said.replace(/^;; /, '') || 'no servers could be reached'}` };
    return { result: 'ERROR', detail: `dig exited ${exec.exitCode}${said ? `: ${said}` : ''}` };
  }
  if (exec.exitCode === 0) return probe.expect === 'connect' ? { result: 'PASS', detail: 'connected' } : { result: 'FAIL', detail: 'connected: the policy did not block it' };
  if (exec.exitCode === 1 && /^(TIMEOUT|REFUSED|DNS:|OTHER:|UNKNOWN:)/.test(said)) {
    return probe.expect === 'blocked' ? { result: 'PASS', detail: `blocked (${said.split(':')[0]})` } : { result: 'FAIL', detail: said };
  }
  return { result: 'ERROR', detail: `${probe.command[0]} exited ${exec.exitCode}${said ? `: ${said}` : ''}` };
}
