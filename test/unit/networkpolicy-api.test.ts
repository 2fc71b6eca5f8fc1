// networking.k8s.io/v1 NetworkPolicy in the test cluster's API server:
// defaulting, validation and the table kubectl prints, as kube-apiserver v1.31.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Api } from '../cluster/api.ts';
import { ManualClock } from '../cluster/clock.ts';
import { PRINTERS } from '../cluster/printers.ts';
import { Registry } from '../cluster/registry.ts';
import { StatusError } from '../cluster/status.ts';
import { Store } from '../cluster/store.ts';
import type { KubeObject } from '../cluster/types.ts';

function setup() {
  const clock = new ManualClock();
  const registry = new Registry();
  const api = new Api(new Store(), registry, clock, 31);
  api.create(registry.byKey('namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } }, { fieldManager: 'test' });
  const type = registry.byKey('networkpolicies.networking.k8s.io')!;
  const create = (spec: Record<string, unknown>, name = 'np') => api.create(type, 'demo', { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec }, { fieldManager: 'kubectl-client-side-apply' });
  return { clock, registry, api, type, create };
}

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof StatusError && error.code === 422) return error.body.message ?? '';
    throw error;
  }
  assert.fail('expected 422 Invalid');
}

test('NetworkPolicy is served as kube-apiserver serves it: networking.k8s.io/v1, namespaced, short name netpol', () => {
  const { type } = setup();
  assert.deepEqual([type.group, type.versions, type.resource, type.kind, type.namespaced, type.shortNames], ['networking.k8s.io', ['v1'], 'networkpolicies', 'NetworkPolicy', true, ['netpol']]);
});

test('policyTypes default to Ingress, plus Egress when there are egress rules; ports default to TCP; podSelector is always there', () => {
  const { create } = setup();
  const ingressOnly = create({ ingress: [{ ports: [{ port: 80 }] }] }, 'a');
  assert.deepEqual(ingressOnly.spec, { podSelector: {}, ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }], policyTypes: ['Ingress'] });
  const withEgress = create({ podSelector: { matchLabels: { app: 'web' } }, egress: [{}] }, 'b');
  assert.deepEqual((withEgress.spec as { policyTypes: string[] }).policyTypes, ['Ingress', 'Egress']);
  const egressOnly = create({ podSelector: {}, policyTypes: ['Egress'] }, 'c');
  assert.deepEqual((egressOnly.spec as { policyTypes: string[] }).policyTypes, ['Egress'], 'given types are kept');
});

test('updates are defaulted too, as kube-apiserver defaults every object it decodes', () => {
  const { create, type, api } = setup();
  create({ ingress: [{ ports: [{ port: 80 }] }] });
  const updated = api.mutate(type, 'demo', 'np', (object) => {
    object.spec = { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }] }] };
  }, { fieldManager: 'kubectl-client-side-apply' });
  assert.deepEqual(updated.spec, { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }], policyTypes: ['Ingress', 'Egress'] });
});

test('invalid policies are refused with the apiserver\'s field errors', () => {
  const { create } = setup();
  const invalid = (spec: Record<string, unknown>) => rejection(() => create(spec));
  assert.equal(invalid({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer');
  assert.equal(invalid({ egress: [{ to: [{}] }] }), 'NetworkPolicy.networking.k8s.io "np" is invalid: spec.egress[0].to[0]: Required value: must specify a peer');
  assert.equal(invalid({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": not a valid CIDR');
  assert.equal(invalid({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`');
  assert.match(invalid({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }] }] }), /except\[0\]: Invalid value: "10\.0\.0\.0\/16": must be a strict subset of `cidr`$/);
  assert.equal(invalid({ ingress: [{ ports: [{ protocol: 'ICMP' }] }] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"');
  assert.equal(invalid({ ingress: [{ ports: [{ port: 9000, endPort: 8000 }] }] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.ingress[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to `port`');
  assert.equal(invalid({ ingress: [{ ports: [{ port: 'http', endPort: 8000 }] }] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.ingress[0].ports[0].endPort: Invalid value: 8000: may not be specified when `port` is non-numeric');
  assert.equal(invalid({ ingress: [{ ports: [{ port: 0 }] }] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive');
  assert.equal(invalid({ policyTypes: ['Ingress', 'Sideways'] }),
    'NetworkPolicy.networking.k8s.io "np" is invalid: spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"');
  assert.equal(invalid({ podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }),
    "NetworkPolicy.networking.k8s.io \"np\" is invalid: spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
  assert.match(invalid({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'bad key!': 'x' } } }] }] }), /spec\.ingress\[0\]\.from\[0\]\.namespaceSelector\.matchLabels: Invalid value: "bad key!": name part must consist of alphanumeric characters/);
});

test('kubectl get networkpolicy prints NAME, POD-SELECTOR and AGE (printNetworkPolicy)', () => {
  const { create, clock } = setup();
  const printer = PRINTERS['networkpolicies.networking.k8s.io']!;
  assert.deepEqual(printer.columns.map((c) => [c.name, c.type, c.format, c.priority]), [['Name', 'string', 'name', 0], ['Pod-Selector', 'string', '', 0], ['Age', 'string', '', 0]]);
  assert.match(printer.columns[1]!.description, /^podSelector selects the pods to which this NetworkPolicy object applies\./);
  const all = create({}, 'default-deny');
  const web = create({ podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['b', 'a'] }] } }, 'web');
  clock.advance(90_000);
  const now = clock.now();
  assert.deepEqual(printer.cells(all as KubeObject, now), ['default-deny', '<none>', '90s']);
  assert.deepEqual(printer.cells(web as KubeObject, now), ['web', 'app=web,tier notin (a,b)', '90s']);
});
