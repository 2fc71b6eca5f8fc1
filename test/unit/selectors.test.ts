import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  SelectorError,
  convertFieldSelector,
  fieldSelectorExactMatch,
  fieldSelectorToString,
  labelSelectorFromObject,
  labelSelectorToString,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectableFields,
  supportedFieldLabels,
} from '../cluster/selectors.ts';
import type { KubeObject } from '../cluster/types.ts';

const throwsSelector = (fn: () => unknown, message: string): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SelectorError, `expected SelectorError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
};

// The regex explanations apimachinery appends, verbatim (doubled spaces included).
const qualifiedNameHelp =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValueHelp =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end " +
  "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is " +
  "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

function object(resource: Partial<KubeObject> & Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Thing',
    ...resource,
    metadata: { name: 'n', uid: 'u', resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z', ...resource.metadata },
  };
}

describe('parseLabelSelector', () => {
  it('parses every operator and sorts requirements by key', () => {
    const sel = parseLabelSelector('z!=3, x in (foo,,baz),y,!w,v notin (a), u==1, t=2, s>5, r<1');
    assert.deepEqual(sel.requirements, [
      { key: 'r', operator: 'lt', values: ['1'] },
      { key: 's', operator: 'gt', values: ['5'] },
      { key: 't', operator: '=', values: ['2'] },
      { key: 'u', operator: '==', values: ['1'] },
      { key: 'v', operator: 'notin', values: ['a'] },
      { key: 'w', operator: '!', values: [] },
      { key: 'x', operator: 'in', values: ['', 'baz', 'foo'] },
      { key: 'y', operator: 'exists', values: [] },
      { key: 'z', operator: '!=', values: ['3'] },
    ]);
  });

  it('treats blanks as separators only and allows empty values', () => {
    assert.deepEqual(parseLabelSelector(' \ta = b\n ').requirements, [{ key: 'a', operator: '=', values: ['b'] }]);
    assert.deepEqual(parseLabelSelector('a=').requirements, [{ key: 'a', operator: '=', values: [''] }]);
    assert.deepEqual(parseLabelSelector('a notin ()').requirements, [{ key: 'a', operator: 'notin', values: [''] }]);
    assert.deepEqual(parseLabelSelector('').requirements, []);
  });

  it('reads in/notin as values where a value is expected', () => {
    assert.deepEqual(parseLabelSelector('in in (in,notin)').requirements, [{ key: 'in', operator: 'in', values: ['in', 'notin'] }]);
  });

  it('prints like Selector.String()', () => {
    assert.equal(labelSelectorToString(parseLabelSelector('b in (z,a), !c, a==1, d')), 'a==1,b in (a,z),!c,d');
  });

  it("rejects malformed input with apimachinery's messages", () => {
    throwsSelector(() => parseLabelSelector('a=b c'), "found 'c', expected: ',' or 'end of string'");
    throwsSelector(() => parseLabelSelector(',a'), "found ',', expected: !, identifier, or 'end of string'");
    throwsSelector(() => parseLabelSelector('a,'), "found '', expected: identifier after ','");
    throwsSelector(() => parseLabelSelector('a in (b'), "unable to parse requirement: found '', expected: ',' or ')'");
    throwsSelector(() => parseLabelSelector('a notin b'), "unable to parse requirement: found 'b' expected: '('");
    throwsSelector(() => parseLabelSelector('a!'), "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt");
    throwsSelector(() => parseLabelSelector('a=(b)'), "unable to parse requirement: found '(', expected: identifier");
    throwsSelector(() => parseLabelSelector('a=b=c'), "found '=', expected: ',' or 'end of string'");
  });

  it('validates keys and values like NewRequirement', () => {
    throwsSelector(() => parseLabelSelector('foo_=x'), `unable to parse requirement: <nil>: Invalid value: "foo_": name part ${qualifiedNameHelp}`);
    throwsSelector(() => parseLabelSelector('app=$b'), `unable to parse requirement: values[0][app]: Invalid value: "$b": ${labelValueHelp}`);
    throwsSelector(
      () => parseLabelSelector('a>b'),
      `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`,
    );
    // Gt/Lt values are label values too, so negative numbers are rejected.
    throwsSelector(() => parseLabelSelector('a<-1'), `unable to parse requirement: values[0][a]: Invalid value: "-1": ${labelValueHelp}`);
    throwsSelector(
      () => parseLabelSelector('a/b/c'),
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name ${qualifiedNameHelp} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    );
    throwsSelector(
      () => parseLabelSelector(`a=${'x'.repeat(64)}`),
      `unable to parse requirement: values[0][a]: Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`,
    );
  });
});

describe('matchesLabels', () => {
  const labels = { app: 'calico', tier: 'node', n: '7' };
  const cases: Array<[string, boolean]> = [
    ['app=calico', true],
    ['app==calico,tier=node', true],
    ['app!=calico', false],
    ['missing!=x', true],
    ['app in (a,calico)', true],
    ['missing in (a)', false],
    ['app notin (calico)', false],
    ['missing notin (a)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['n>5', true],
    ['n<5', false],
    ['app>5', false],
    ['', true],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(matchesLabels(parseLabelSelector(text), labels), expected));
  }

  it('is not fooled by keys that name Object.prototype members', () => {
    assert.equal(matchesLabels(parseLabelSelector('constructor'), {}), false);
    assert.equal(matchesLabels(parseLabelSelector('toString=x'), { toString: 'x' }), true);
    throwsSelector(() => convertFieldSelector('pods', parseFieldSelector('constructor=1')), 'field label not supported: constructor');
  });

  it('treats missing labels as an empty set', () => {
    assert.equal(matchesLabels(parseLabelSelector('!a'), undefined), true);
    assert.equal(matchesLabels(parseLabelSelector('a'), undefined), false);
  });
});

describe('metav1.LabelSelector', () => {
  it('converts matchLabels and matchExpressions', () => {
    const sel = labelSelectorFromObject({
      matchLabels: { 'k8s-app': 'calico-node' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['b', 'a'] },
        { key: 'zone', operator: 'NotIn', values: ['x'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'old', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(matchesLabels(sel, { 'k8s-app': 'calico-node', tier: 'a', gpu: '' }), true);
    assert.equal(matchesLabels(sel, { 'k8s-app': 'calico-node', tier: 'a', gpu: '', old: '1' }), false);
    assert.equal(labelSelectorToString(sel), 'gpu,k8s-app=calico-node,!old,tier in (a,b),zone notin (x)');
  });

  it('formats like metav1.FormatLabelSelector', () => {
    assert.equal(labelSelectorToString({ matchLabels: { 'k8s-app': 'calico-node' } }), 'k8s-app=calico-node');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'k', operator: 'In', values: ['b', 'a'] }] }), 'k in (a,b)');
    assert.equal(labelSelectorToString({}), '<none>');
    assert.equal(labelSelectorToString(null), '<none>');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'k', operator: 'Bogus' }] }), '<error>');
  });

  it('selects nothing when absent and everything when empty', () => {
    assert.equal(matchesLabels(labelSelectorFromObject(undefined), { a: 'b' }), false);
    assert.equal(matchesLabels(labelSelectorFromObject({}), { a: 'b' }), true);
  });

  it('rejects invalid selectors', () => {
    throwsSelector(() => labelSelectorFromObject({ matchExpressions: [{ key: 'k', operator: 'Bogus' }] }), '"Bogus" is not a valid label selector operator');
    throwsSelector(
      () => labelSelectorFromObject({ matchExpressions: [{ key: 'k', operator: 'In' }] }),
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    );
    throwsSelector(
      () => labelSelectorFromObject({ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['a'] }] }),
      'values: Invalid value: ["a"]: values set must be empty for exists and does not exist',
    );
    throwsSelector(() => labelSelectorFromObject({ matchLabels: { 'bad key': 'v' } }), `key: Invalid value: "bad key": name part ${qualifiedNameHelp}`);
  });
});

describe('parseFieldSelector', () => {
  it('parses =, == and != and sorts the terms', () => {
    assert.deepEqual(parseFieldSelector('status.phase!=Running,spec.nodeName==n1').requirements, [
      { field: 'spec.nodeName', operator: '=', value: 'n1' },
      { field: 'status.phase', operator: '!=', value: 'Running' },
    ]);
    assert.deepEqual(parseFieldSelector('').requirements, []);
    assert.deepEqual(parseFieldSelector('a=').requirements, [{ field: 'a', operator: '=', value: '' }]);
  });

  it('unescapes \\\\, \\, and \\= and prints them escaped again', () => {
    const sel = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
    assert.equal(sel.requirements[0]?.value, 'a,b=c\\d');
    assert.equal(fieldSelectorToString(sel), 'metadata.name=a\\,b\\=c\\\\d');
  });

  it("rejects malformed input with apimachinery's messages", () => {
    throwsSelector(() => parseFieldSelector('a=b,x'), "invalid selector: 'a=b,x'; can't understand 'x'");
    throwsSelector(() => parseFieldSelector('a=b=c'), 'invalid field selector: unescaped character in value: 61');
    throwsSelector(() => parseFieldSelector('a=b\\x'), 'invalid field selector: invalid escape sequence: \\x');
    throwsSelector(() => parseFieldSelector('a=b\\'), 'invalid field selector: invalid escape sequence: \\');
  });

  it('matches with missing fields reading as ""', () => {
    const fields = { 'metadata.name': 'a', 'spec.nodeName': '' };
    assert.equal(matchesFields(parseFieldSelector('metadata.name=a'), fields), true);
    assert.equal(matchesFields(parseFieldSelector('metadata.name!=a'), fields), false);
    assert.equal(matchesFields(parseFieldSelector('spec.nodeName='), fields), true);
    assert.equal(matchesFields(parseFieldSelector('status.podIPs='), fields), true);
    assert.equal(matchesFields(parseFieldSelector('status.podIPs=10.0.0.1'), fields), false);
  });

  it('reports the exact value a term requires', () => {
    assert.equal(fieldSelectorExactMatch(parseFieldSelector('metadata.name==x,a!=b'), 'metadata.name'), 'x');
    assert.equal(fieldSelectorExactMatch(parseFieldSelector('metadata.name!=x'), 'metadata.name'), undefined);
  });
});

describe('field label conversion', () => {
  const convert = (resource: string, text: string, crd?: Parameters<typeof convertFieldSelector>[2]) =>
    convertFieldSelector(resource, parseFieldSelector(text), crd);

  it('accepts the labels each kind registers', () => {
    convert('pods', 'spec.nodeName=n,status.phase=Running,spec.hostNetwork=true,status.podIPs=x,metadata.namespace=d');
    convert('events', 'involvedObject.name=x,reason=Started,reportingComponent=kubelet,source=kubelet,type=Normal');
    convert('nodes', 'spec.unschedulable=false,metadata.name=n');
    convert('namespaces', 'status.phase=Active');
    convert('secrets', 'type=kubernetes.io/tls');
    convert('services', 'spec.clusterIP=None,spec.type=ClusterIP');
    convert('configmaps', 'metadata.name=a,metadata.namespace=b');
    convert('jobs.batch', 'status.successful=1');
  });

  it('rewrites the legacy spec.host for pods', () => {
    assert.deepEqual(convert('pods', 'spec.host=n1').requirements, [{ field: 'spec.nodeName', operator: '=', value: 'n1' }]);
  });

  it("rejects other labels with kube-apiserver's wording", () => {
    throwsSelector(() => convert('pods', 'spec.foo=1'), 'field label not supported: spec.foo');
    throwsSelector(() => convert('nodes', 'metadata.namespace=x'), 'field label not supported: metadata.namespace');
    throwsSelector(() => convert('jobs.batch', 'foo=1'), 'field label "foo" not supported for Job');
    throwsSelector(
      () => convert('deployments.apps', 'spec.replicas=1'),
      '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    // apps/v1 registers no conversion, so ReplicaSets only take metadata.* (kubernetes#135136).
    throwsSelector(
      () => convert('replicasets.apps', 'status.replicas=0'),
      '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    // The first failing term in sorted order is the one reported.
    throwsSelector(() => convert('pods', 'z=1,b=2'), 'field label not supported: b');
  });

  it('handles custom resources by their CRD', () => {
    const crd = { namespaced: false, selectableFields: ['.spec.color'] };
    convert('widgets.example.com', 'spec.color=red,metadata.name=w', crd);
    throwsSelector(() => convert('widgets.example.com', 'metadata.namespace=x', crd), 'field label not supported: metadata.namespace');
    throwsSelector(() => convert('widgets.example.com', 'spec.size=1', crd), 'field label not supported: spec.size');
    convert('widgets.example.com', 'metadata.namespace=x', { namespaced: true });
  });

  it('lists the supported labels', () => {
    assert.deepEqual(supportedFieldLabels('configmaps'), ['metadata.name', 'metadata.namespace']);
    assert.ok(supportedFieldLabels('pods').includes('spec.host'));
  });
});

describe('selectableFields', () => {
  it('gives pods their GetAttrs fields', () => {
    const pod = object({
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'kube-system', uid: 'u', resourceVersion: '1', creationTimestamp: '' },
      spec: { nodeName: 'n1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccount: 'calico-node', hostNetwork: true },
      status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }], podIP: '10.0.0.5' },
    });
    assert.deepEqual(selectableFields('pods', pod), {
      'metadata.name': 'p',
      'metadata.namespace': 'kube-system',
      'spec.nodeName': 'n1',
      'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler',
      'spec.serviceAccountName': 'calico-node',
      'spec.hostNetwork': 'true',
      'status.phase': 'Running',
      'status.podIP': '10.0.0.5',
      'status.nominatedNodeName': '',
    });
    const sel = convertFieldSelector('pods', parseFieldSelector('spec.nodeName=n1,status.phase!=Failed'));
    assert.equal(matchesFields(sel, selectableFields('pods', pod)), true);
  });

  it('gives events involvedObject.*, reason, source and type', () => {
    const event = object({
      kind: 'Event',
      metadata: { name: 'e', namespace: 'default', uid: 'u', resourceVersion: '1', creationTimestamp: '' },
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'pu', apiVersion: 'v1' },
      reason: 'Scheduled',
      type: 'Normal',
      reportingComponent: 'default-scheduler',
      source: {},
    });
    const fields = selectableFields('events', event);
    assert.equal(fields['involvedObject.name'], 'p');
    assert.equal(fields['involvedObject.uid'], 'pu');
    assert.equal(fields['involvedObject.fieldPath'], '');
    assert.equal(fields.reason, 'Scheduled');
    assert.equal(fields.reportingComponent, 'default-scheduler');
    assert.equal(fields.source, 'default-scheduler', 'source falls back to the reporting controller');
    assert.equal(fields.type, 'Normal');
  });

  it('omits metadata.namespace for cluster-scoped kinds', () => {
    const node = object({ kind: 'Node', metadata: { name: 'n1', uid: 'u', resourceVersion: '1', creationTimestamp: '' }, spec: {} });
    assert.deepEqual(selectableFields('nodes', node), { 'metadata.name': 'n1', 'spec.unschedulable': 'false' });
    const ns = object({ kind: 'Namespace', metadata: { name: 'd', uid: 'u', resourceVersion: '1', creationTimestamp: '' }, status: { phase: 'Active' } });
    assert.deepEqual(selectableFields('namespaces', ns), { 'metadata.name': 'd', 'status.phase': 'Active' });
    const cr = object({ kind: 'ClusterRole', metadata: { name: 'r', uid: 'u', resourceVersion: '1', creationTimestamp: '' } });
    assert.deepEqual(selectableFields('clusterroles.rbac.authorization.k8s.io', cr), { 'metadata.name': 'r' });
  });

  it('covers secrets, services and replica counts', () => {
    const meta = { name: 'x', namespace: 'd', uid: 'u', resourceVersion: '1', creationTimestamp: '' };
    assert.equal(selectableFields('secrets', object({ metadata: meta, type: 'Opaque' })).type, 'Opaque');
    assert.deepEqual(selectableFields('services', object({ metadata: meta, spec: { clusterIP: '10.96.0.10', type: 'ClusterIP' } })), {
      'metadata.name': 'x',
      'metadata.namespace': 'd',
      'spec.clusterIP': '10.96.0.10',
      'spec.type': 'ClusterIP',
    });
    assert.equal(selectableFields('replicasets.apps', object({ metadata: meta, status: { replicas: 3 } }))['status.replicas'], '3');
    assert.equal(selectableFields('jobs.batch', object({ metadata: meta, status: {} }))['status.successful'], '0');
    assert.deepEqual(selectableFields('configmaps', object({ metadata: meta })), { 'metadata.name': 'x', 'metadata.namespace': 'd' });
  });

  it("reads a custom resource's selectable fields", () => {
    const widget = object({
      metadata: { name: 'w', namespace: 'd', uid: 'u', resourceVersion: '1', creationTimestamp: '' },
      spec: { color: 'red', size: 3, shiny: true },
    });
    const crd = { namespaced: true, selectableFields: ['.spec.color', '.spec.size', '.spec.shiny', '.spec.missing'] };
    assert.deepEqual(selectableFields('widgets.example.com', widget, crd), {
      'metadata.name': 'w',
      'metadata.namespace': 'd',
      'spec.color': 'red',
      'spec.size': '3',
      'spec.shiny': 'true',
      'spec.missing': '',
    });
  });
});
