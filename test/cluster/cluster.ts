// Starts a test cluster: the API server emulator on https://127.0.0.1 with a
// throwaway CA, a kubeconfig for it, a scenario seeded, and the simulated
// controllers running. Tests call startCluster(); `npm run cluster` wraps it.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { stringify } from 'yaml';
import { TEST_CACHE } from '../cache-dir.ts';
import { Api } from './api.ts';
import { Authenticator, Authorizer } from './auth.ts';
import { RealClock, type Clock } from './clock.ts';
import { startApiServerControllers } from './controllers/apiserver.ts';
import { leaveDeletedNodeIpam, startCalicoKubeControllers } from './controllers/calico-kube-controllers.ts';
import { startKubelets } from './controllers/kubelet.ts';
import { startNodeControllers } from './controllers/nodes.ts';
import { startOperator } from './controllers/operator.ts';
import { startCalicoNodes } from './dataplane/calico-node.ts';
import { noNetworkFaults, type NetworkFaults } from './dataplane/faults.ts';
import { trackPolicy } from './dataplane/policy.ts';
import { FAST_TIMINGS, Runtime, type PodFaults, type Timings } from './controllers/runtime.ts';
import { startScheduler } from './controllers/scheduler.ts';
import { startServiceControllers } from './controllers/services.ts';
import { UPSTREAM_HOST } from './dataplane/dns.ts';
import { setOutside, type OutsideHost } from './dataplane/reach.ts';
import { startTunnelAddressAllocator } from './controllers/tunnel-addresses.ts';
import { startWorkloadControllers } from './controllers/workloads.ts';
import { OpenApi } from './discovery.ts';
import { createHandler, upgradeListener, type Faults, type RequestLogEntry } from './http.ts';
import { installCalico } from './install.ts';
import { PodLogs } from './logs.ts';
import { Registry } from './registry.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';
import { Store } from './store.ts';
import { clusterPki, type CertificateAuthority, type KeyPair } from './tls.ts';

export interface ClusterOptions {
  scenario?: string;
  /** Nodes of a kubeadm scenario (default 3): one control plane, the rest workers. */
  nodes?: number;
  /** A Calico release (`v3.29.0`) installed as the guide installs it, and converged, before the cluster is handed over. */
  calico?: string;
  /** The encapsulation of the pool that install (custom-resources.yaml's is VXLANCrossSubnet): `IPIP`, `IPIPCrossSubnet`, `VXLAN`, `None`… */
  encapsulation?: string;
  /** With `calico`: the Installation's IPv4 pool as the user edited it (default: kubeadm's podSubnet, blockSize 26); a small one runs out. */
  ipPool?: { cidr?: string; blockSize?: number };
  /** A dual-stack kubeadm cluster (IPv4 and IPv6 podSubnet); with `calico`, the Installation gets an IPv6 pool too. */
  dualStack?: boolean;
  /** With `calico`: nodes deleted from the cluster whose Calico IPAM stayed behind (a block affine to each, its tunnel and a pod's address). */
  deletedNodes?: string[];
  /** Calico IPAM's faults (controllers/ipam-faults.ts); `runtime.ipamFaults` changes them live. */
  ipamFaults?: { leakingPods?: string[]; gcStopped?: boolean };
  kubernetesVersion?: string;
  latencyMs?: number;
  errorRate?: number;
  dropWatchesAfterSeconds?: number;
  /** >1 runs the simulated cluster faster than wall time. */
  speed?: number;
  clock?: Clock;
  timings?: Partial<Timings>;
  podFaults?: Partial<PodFaults>;
  requestLogFile?: string;
  /** Nodes whose kubelet the API server cannot dial (`i/o timeout`); `faults.unreachableKubelets` changes it live. */
  unreachableKubelets?: string[];
  /** The network's faults (dataplane/faults.ts); `runtime.network` changes them live. */
  network?: Partial<NetworkFaults>;
  /** What answers outside the cluster (reach.ts); nothing unless listed. */
  outside?: OutsideHost[];
  kubeconfigPath?: string;
  bookmarkIntervalMs?: number;
  random?: () => number;
}

export interface TestCluster {
  url: string;
  scenario: Scenario;
  kubernetesVersion: string;
  /** The kubeconfig (YAML) with contexts `kubernetes-admin@kubernetes` (current), `viewer@kubernetes` and `cert-admin@kubernetes`. */
  kubeconfig: string;
  kubeconfigPath: string | undefined;
  tokens: { admin: string; viewer: string };
  ca: CertificateAuthority;
  api: Api;
  runtime: Runtime;
  requestLog: RequestLogEntry[];
  /** The fault knobs, live: a test may change them while the cluster runs. */
  faults: Faults;
  /** Adds a user authenticated by a bearer token (with `system:authenticated`); returns the token. */
  addUser(name: string, groups?: string[]): string;
  stop(): Promise<void>;
}

/** The clusters this process serves, by URL: the Kubernetes version each reports (test/helpers.ts picks kubectl by it). */
export const servedVersions = new Map<string, string>();

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const makeScenario = SCENARIOS[options.scenario ?? 'kubeadm-3-nodes'];
  if (!makeScenario) throw new Error(`unknown scenario "${options.scenario}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
  const scenario = makeScenario({ nodes: options.nodes, dualStack: options.dualStack });
  if (options.calico && scenario.controllers === false) throw new Error(`--calico applies to the kubeadm scenarios; "${scenario.name}" is a fixed snapshot`);
  if (!options.calico && (options.ipPool || options.deletedNodes?.length)) throw new Error('--ip-pool, --block-size and --deleted-node need --calico');
  const kubernetesVersion = options.kubernetesVersion ?? 'v1.31.3';
  const match = /^v(\d+)\.(\d+)\.(\d+)$/.exec(kubernetesVersion);
  if (!match) throw new Error(`--kubernetes-version must look like v1.31.3, not "${kubernetesVersion}"`);
  const [, major = '1', minor = '31'] = match;
  const clock = options.clock ?? new RealClock(options.speed ?? 1);
  const store = new Store();
  const registry = new Registry();
  const api = new Api(store, registry, clock, Number(minor));
  const logs = new PodLogs();
  const pki = clusterPki(path.join(TEST_CACHE, 'pki.json'));
  const ca = pki.ca;
  const runtime = new Runtime(api, clock, logs, { ...FAST_TIMINGS, ...options.timings }, { failingImages: [], crashingContainers: [], ...options.podFaults });
  const network = { ...noNetworkFaults(), ...options.network };
  // A cluster that starts with Calico gets its network faults once the install has converged (as a firewall
  // rule added after it): the guide's install cannot finish on a network that keeps calico-node from Ready.
  if (!options.calico) runtime.network = network;
  trackPolicy(runtime);
  setOutside(runtime, [UPSTREAM_HOST, ...(options.outside ?? [])]);
  api.serviceCIDRs = [...scenario.serviceSubnet.split(','), ...(scenario.serviceSubnetV6 ? [scenario.serviceSubnetV6] : [])];
  runtime.ipamFaults.leakingPods = options.ipamFaults?.leakingPods ?? [];
  runtime.ipamFaults.gcStopped = options.ipamFaults?.gcStopped ?? false;
  startApiServerControllers(runtime);
  if (scenario.controllers !== false) {
    startNodeControllers(runtime, ca.cert);
    startServiceControllers(runtime);
    startWorkloadControllers(runtime);
    startScheduler(runtime);
    startKubelets(runtime);
    startOperator(runtime);
    startCalicoNodes(runtime);
    startTunnelAddressAllocator(runtime);
    startCalicoKubeControllers(runtime);
  }
  scenario.seed(runtime, kubernetesVersion);
  if (options.encapsulation && !options.calico) throw new Error('--encapsulation applies to a cluster started with --calico');
  if (options.calico) {
    const v6 = scenario.podSubnetV6 ? [{ cidr: scenario.podSubnetV6, blockSize: 122, encapsulation: 'None', natOutgoing: 'Enabled', nodeSelector: 'all()' }] : [];
    const encapsulation = options.encapsulation ? { encapsulation: options.encapsulation } : {};
    await installCalico(runtime, options.calico, [{ cidr: scenario.podSubnet, ...encapsulation, ...options.ipPool }, ...v6]);
    for (const node of options.deletedNodes ?? []) leaveDeletedNodeIpam(runtime, node);
    runtime.network = network;
  }

  const tokens = { admin: randomBytes(16).toString('hex'), viewer: randomBytes(16).toString('hex') };
  const authenticator = new Authenticator();
  authenticator.addToken(tokens.admin, { name: 'kubernetes-admin', groups: ['kubeadm:cluster-admins'] });
  authenticator.addToken(tokens.viewer, { name: 'viewer', groups: [] });
  const requestLog: RequestLogEntry[] = [];
  if (options.requestLogFile) fs.writeFileSync(options.requestLogFile, '');
  const faults: Faults = {
    latencyMs: options.latencyMs ?? 0,
    errorRate: options.errorRate ?? 0,
    dropWatchesAfterMs: options.dropWatchesAfterSeconds === undefined ? undefined : options.dropWatchesAfterSeconds * 1000,
    random: options.random ?? Math.random,
    unreachableKubelets: new Map((options.unreachableKubelets ?? []).map((node) => [node, 'i/o timeout'])),
  };
  const handler = createHandler({
    api,
    authenticator,
    authorizer: new Authorizer(store),
    openapi: new OpenApi(registry, kubernetesVersion),
    logs,
    runtime,
    version: { major, minor, gitVersion: kubernetesVersion },
    faults,
    requestLog,
    requestLogFile: options.requestLogFile,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 30_000,
  });
  const server = https.createServer({ key: pki.server.key, cert: pki.server.cert, ca: [ca.cert], requestCert: true, rejectUnauthorized: false }, handler);
  server.keepAliveTimeout = 30_000;
  // Upgraded connections (exec sessions) are no longer the HTTP server's to close.
  const upgraded = new Set<Duplex>();
  const onUpgrade = upgradeListener(handler);
  server.on('upgrade', (request, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    onUpgrade(request, socket, head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = makeKubeconfig(url, ca, pki.admin, tokens);
  servedVersions.set(url, kubernetesVersion);
  if (options.kubeconfigPath) fs.writeFileSync(options.kubeconfigPath, kubeconfig, { mode: 0o600 });
  return {
    url, scenario, kubernetesVersion, kubeconfig, kubeconfigPath: options.kubeconfigPath, tokens, ca, api, runtime, requestLog, faults,
    addUser: (name, groups = []) => {
      const token = randomBytes(16).toString('hex');
      authenticator.addToken(token, { name, groups });
      return token;
    },
    stop: () => new Promise<void>((resolve) => {
      servedVersions.delete(url);
      for (const socket of upgraded) socket.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function makeKubeconfig(url: string, ca: CertificateAuthority, cert: KeyPair, tokens: { admin: string; viewer: string }): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kubernetes', cluster: { server: url, 'certificate-authority-data': b64(ca.cert) } }],
    contexts: [
      { name: 'kubernetes-admin@kubernetes', context: { cluster: 'kubernetes', user: 'kubernetes-admin' } },
      { name: 'viewer@kubernetes', context: { cluster: 'kubernetes', user: 'viewer' } },
      { name: 'cert-admin@kubernetes', context: { cluster: 'kubernetes', user: 'cert-admin' } },
    ],
    'current-context': 'kubernetes-admin@kubernetes',
    preferences: {},
    users: [
      { name: 'kubernetes-admin', user: { token: tokens.admin } },
      { name: 'viewer', user: { token: tokens.viewer } },
      { name: 'cert-admin', user: { 'client-certificate-data': b64(cert.cert), 'client-key-data': b64(cert.key) } },
    ],
  });
}
