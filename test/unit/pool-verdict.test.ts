// init and doctor judge a pool with one function (checkPools), so for the
// same cluster and pool they cannot disagree: init refuses exactly when
// doctor's CAL-0701/0703/0704 FAIL, and warns exactly when they WARN. Both
// run here for real, against an API server answered from a table.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CliError } from '../../src/cli/errors.ts';
import { CHECKS } from '../../src/calico/doctor/checks.ts';
import { Facts } from '../../src/calico/doctor/facts.ts';
import { runInit } from '../../src/calico/init.ts';
import { KubeClient, type ClientSettings, type RawResponse } from '../../src/kube/client.ts';
import { SHARED_CALICO, tempDir } from '../helpers.ts';

/** An API server that answers GETs from `objects` by path and 404s the rest. */
class TableKube extends KubeClient {
  readonly objects: Record<string, unknown>;

  constructor(objects: Record<string, unknown>) {
    super({ server: 'https://table.invalid', contextName: 'table', userName: 'table' } as ClientSettings);
    this.objects = objects;
  }

  override async request(path: string): Promise<RawResponse> {
    const found = this.objects[path];
    return { statusCode: found ? 200 : 404, headers: {}, body: Buffer.from(JSON.stringify(found ?? { kind: 'Status', code: 404 })) };
  }
}

interface Case {
  name: string;
  /** kubeadm's networking; `undefined`: no kube-system/kubeadm-config (not a kubeadm cluster). */
  kubeadm: { podSubnet?: string; serviceSubnet?: string } | undefined;
  /** The pool: init's --pod-cidr and the Installation's; `undefined`: init derives it and doctor has no Installation. */
  pool?: string;
  /** What doctor says; init must refuse on a FAIL and warn on a WARN. */
  doctor: Record<'CAL-0701' | 'CAL-0703' | 'CAL-0704', 'PASS' | 'WARN' | 'FAIL' | 'SKIP'>;
}

const GUIDE = { podSubnet: '10.97.0.0/16', serviceSubnet: '10.96.0.0/16' };
const CASES: Case[] = [
  { name: "the guide's cluster before install", kubeadm: GUIDE, doctor: { 'CAL-0701': 'PASS', 'CAL-0703': 'PASS', 'CAL-0704': 'PASS' } },
  { name: "the guide's cluster, installed", kubeadm: GUIDE, pool: '10.97.0.0/16', doctor: { 'CAL-0701': 'PASS', 'CAL-0703': 'PASS', 'CAL-0704': 'PASS' } },
  { name: "kubeadm's default serviceSubnet holds the podSubnet, before install", kubeadm: { podSubnet: '10.97.0.0/16' }, doctor: { 'CAL-0701': 'PASS', 'CAL-0703': 'FAIL', 'CAL-0704': 'PASS' } },
  { name: "kubeadm's default serviceSubnet holds the podSubnet, installed", kubeadm: { podSubnet: '10.97.0.0/16' }, pool: '10.97.0.0/16', doctor: { 'CAL-0701': 'PASS', 'CAL-0703': 'FAIL', 'CAL-0704': 'PASS' } },
  { name: 'kubeadm-config without podSubnet, before install (the pool from the nodes)', kubeadm: { serviceSubnet: '10.96.0.0/16' }, doctor: { 'CAL-0701': 'FAIL', 'CAL-0703': 'PASS', 'CAL-0704': 'PASS' } },
  { name: 'kubeadm-config without podSubnet, installed', kubeadm: { serviceSubnet: '10.96.0.0/16' }, pool: '10.97.0.0/16', doctor: { 'CAL-0701': 'FAIL', 'CAL-0703': 'PASS', 'CAL-0704': 'PASS' } },
  { name: 'no kubeadm-config, before install', kubeadm: undefined, doctor: { 'CAL-0701': 'SKIP', 'CAL-0703': 'PASS', 'CAL-0704': 'PASS' } },
  { name: 'a pool outside the podSubnet, over the nodes', kubeadm: GUIDE, pool: '192.168.0.0/16', doctor: { 'CAL-0701': 'FAIL', 'CAL-0703': 'FAIL', 'CAL-0704': 'PASS' } },
  { name: 'a pool smaller than the podSubnet', kubeadm: GUIDE, pool: '10.97.0.0/17', doctor: { 'CAL-0701': 'WARN', 'CAL-0703': 'PASS', 'CAL-0704': 'PASS' } },
  { name: 'a /24 pool: 4 blocks for 3 nodes', kubeadm: GUIDE, pool: '10.97.0.0/24', doctor: { 'CAL-0701': 'WARN', 'CAL-0703': 'PASS', 'CAL-0704': 'WARN' } },
  { name: 'a /25 podSubnet: 2 blocks for 3 nodes, before install', kubeadm: { podSubnet: '10.97.0.0/25', serviceSubnet: '10.96.0.0/16' }, doctor: { 'CAL-0701': 'PASS', 'CAL-0703': 'PASS', 'CAL-0704': 'FAIL' } },
];

function cluster(c: Case): TableKube {
  const networking = c.kubeadm && ['networking:', ...Object.entries(c.kubeadm).map(([key, value]) => `  ${key}: ${value}`)].join('\n');
  const node = (i: number) => ({ metadata: { name: `node-${i}` }, spec: { podCIDR: `10.97.${i}.0/24` }, status: { addresses: [{ type: 'InternalIP', address: `192.168.56.${11 + i}` }] } });
  return new TableKube({
    '/version': { gitVersion: 'v1.31.3' },
    '/api/v1/nodes': { items: [0, 1, 2].map(node) },
    ...(networking ? { '/api/v1/namespaces/kube-system/configmaps/kubeadm-config': { data: { ClusterConfiguration: `kind: ClusterConfiguration\n${networking}\n` } } } : {}),
    ...(c.pool ? { '/apis/operator.tigera.io/v1/installations/default': { spec: { calicoNetwork: { ipPools: [{ cidr: c.pool }] } } } } : {}),
  });
}

async function doctorSays(c: Case): Promise<Record<string, string>> {
  const facts = new Facts(cluster(c));
  const ids = Object.keys(c.doctor);
  return Object.fromEntries(await Promise.all(ids.map(async (id) => [id, (await CHECKS.find((check) => check.id === id)!.run(facts)).status])));
}

async function initSays(c: Case): Promise<'refused' | 'warned' | 'clean'> {
  const home = tempDir('pool-verdict-');
  const warnings: string[] = [];
  try {
    await runInit({
      podCidr: c.pool, version: 'v3.29.0', dir: path.join(home, 'calico'), manifestsFrom: path.join(SHARED_CALICO, 'v3.29.0'), checksums: undefined, insecureSkipVerify: false, overwrite: false,
      env: { XDG_CACHE_HOME: path.join(home, 'cache') }, warn: (message) => warnings.push(message),
      blockSize: undefined, blockSizeV6: undefined, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()', force: false,
      connect: async () => cluster(c),
    });
    // The cluster answers and runs a Kubernetes Calico v3.29.0 is tested on: every warning is a pool finding.
    return warnings.length ? 'warned' : 'clean';
  } catch (error) {
    if (error instanceof CliError && /\(--force writes it anyway\)$/.test(error.message)) return 'refused';
    throw error;
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

for (const c of CASES) {
  test(`init and doctor agree: ${c.name}`, async () => {
    const doctor = await doctorSays(c);
    assert.deepEqual(doctor, c.doctor);
    const statuses = Object.values(doctor);
    assert.equal(await initSays(c), statuses.includes('FAIL') ? 'refused' : statuses.includes('WARN') ? 'warned' : 'clean');
  });
}
