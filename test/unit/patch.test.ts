import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PatchError, jsonMergePatch, jsonPatch, patchSchemaFor, strategicMergePatch } from '../cluster/patch.ts';

// Expected results of the strategic merge patch cases were cross-checked against
// k8s.io/apimachinery v0.34.1 strategicpatch, and the JSON patch cases against
// evanphx/json-patch v4.12.0, run on the same inputs.

function throwsPatch(fn: () => unknown, expected: { code: number; reason?: string; message: string; detail?: string }): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PatchError, `expected PatchError, got ${String(e)}`);
    assert.equal(e.code, expected.code);
    if (expected.reason !== undefined) assert.equal(e.reason, expected.reason);
    assert.equal(e.message, expected.message);
    if (expected.detail !== undefined) assert.equal(e.detail, expected.detail);
    return true;
  });
}

const jsonPatchRejected = (detail: string) => ({
  code: 422,
  reason: 'Invalid',
  message: 'the server rejected our request due to an error in our request',
  detail,
});

describe('jsonMergePatch (RFC 7386)', () => {
  // RFC 7386 appendix A, minus the cases whose target or patch is not an object.
  const rfc: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of rfc) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => assert.deepEqual(jsonMergePatch(target, patch), expected));
  }

  it('merges a kubectl label patch without touching the rest', () => {
    const target = { metadata: { name: 'n', labels: { a: '1', b: '2' } }, spec: { x: 1 } };
    const result = jsonMergePatch(target, { metadata: { labels: { a: null, c: '3' } } });
    assert.deepEqual(result, { metadata: { name: 'n', labels: { b: '2', c: '3' } }, spec: { x: 1 } });
    assert.deepEqual(target.metadata.labels, { a: '1', b: '2' }, 'input untouched');
  });

  it('keeps nulls inside arrays that replace a value (json-patch v4)', () => {
    assert.deepEqual(jsonMergePatch({ a: { x: 1 } }, { a: [{ b: null }] }), { a: [{ b: null }] });
    assert.deepEqual(jsonMergePatch({ a: 1 }, { g: [null, { h: null }] }), { a: 1, g: [null, {}] });
  });

  it('answers 400 "Invalid JSON Patch" for null or scalar patches', () => {
    throwsPatch(() => jsonMergePatch({ a: 1 }, null), { code: 400, reason: 'BadRequest', message: 'Invalid JSON Patch' });
    throwsPatch(() => jsonMergePatch({ a: 1 }, 5), { code: 400, message: 'Invalid JSON Patch' });
  });
});

describe('jsonPatch (RFC 6902)', () => {
  const doc = { metadata: { name: 'n', labels: { a: '1' }, finalizers: ['x', 'y'] }, spec: { replicas: 1, list: [{ k: 1 }] } };

  it('applies add, remove, replace, move, copy and test', () => {
    const result = jsonPatch(doc, [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'add', path: '/metadata/finalizers/-', value: 'z' },
      { op: 'add', path: '/metadata/finalizers/0', value: 'w' },
      { op: 'remove', path: '/metadata/finalizers/1' },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'copy', from: '/spec/list/0', path: '/spec/list/-' },
      { op: 'move', from: '/metadata/labels', path: '/metadata/annotations' },
    ]);
    assert.deepEqual(result, {
      metadata: { name: 'n', finalizers: ['w', 'y', 'z'], annotations: { a: '1', b: '2' } },
      spec: { replicas: 3, list: [{ k: 1 }, { k: 1 }] },
    });
    assert.deepEqual(doc.metadata.finalizers, ['x', 'y'], 'input untouched');
  });

  it('supports ~0/~1 escapes and negative indices', () => {
    assert.deepEqual(jsonPatch({ a: { 'x/y': 1, 'x~y': 2 } }, [{ op: 'remove', path: '/a/x~1y' }, { op: 'replace', path: '/a/x~0y', value: 3 }]), {
      a: { 'x~y': 3 },
    });
    assert.deepEqual(jsonPatch({ l: [1, 2, 3] }, [{ op: 'remove', path: '/l/-1' }]), { l: [1, 2] });
  });

  it('reproduces json-patch v4 leniencies', () => {
    // replace on a missing object member adds it; copy from a missing member copies null;
    // test of a missing member against null passes.
    assert.deepEqual(jsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 2 }]), { a: 1, b: 2 });
    assert.deepEqual(jsonPatch({ a: 1 }, [{ op: 'copy', from: '/nope', path: '/c' }]), { a: 1, c: null });
    assert.deepEqual(jsonPatch({ a: 1 }, [{ op: 'test', path: '/nope', value: null }]), { a: 1 });
  });

  it('answers a failed test with 422 and the generic message', () => {
    throwsPatch(() => jsonPatch(doc, [{ op: 'test', path: '/spec/replicas', value: 2 }]), jsonPatchRejected('testing value /spec/replicas failed: test failed'));
  });

  it('reports missing paths and bad indices like the library', () => {
    throwsPatch(() => jsonPatch(doc, [{ op: 'remove', path: '/metadata/nope' }]), jsonPatchRejected(
      "error in remove for path: '/metadata/nope': Unable to remove nonexistent key: nope: missing value",
    ));
    throwsPatch(() => jsonPatch(doc, [{ op: 'add', path: '/metadata/nope/x', value: 1 }]), jsonPatchRejected(
      'add operation does not apply: doc is missing path: "/metadata/nope/x": missing value',
    ));
    throwsPatch(() => jsonPatch(doc, [{ op: 'replace', path: '/metadata/finalizers/5', value: 1 }]), jsonPatchRejected(
      'replace operation does not apply: doc is missing key: /metadata/finalizers/5: missing value',
    ));
    throwsPatch(() => jsonPatch(doc, [{ op: 'add', path: '/metadata/finalizers/5', value: 1 }]), jsonPatchRejected(
      "error in add for path: '/metadata/finalizers/5': Unable to access invalid index: 5: invalid index referenced",
    ));
    throwsPatch(() => jsonPatch(doc, [{ op: 'add', path: '/metadata/finalizers/foo', value: 1 }]), jsonPatchRejected(
      "error in add for path: '/metadata/finalizers/foo': value was not a proper array index: 'foo': strconv.Atoi: parsing \"foo\": invalid syntax",
    ));
    throwsPatch(() => jsonPatch(doc, [{ op: 'move', from: '/metadata/nope', path: '/x' }]), jsonPatchRejected(
      "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
    ));
    throwsPatch(() => jsonPatch(doc, [{ op: 'frob', path: '/a' }]), jsonPatchRejected('Unexpected kind: frob'));
    throwsPatch(() => jsonPatch(doc, [{ op: 'add', value: 1 }]), jsonPatchRejected('add operation failed to decode path: missing value'));
  });

  it('rejects a body that is not a list of operations with 400', () => {
    throwsPatch(() => jsonPatch(doc, { op: 'add' }), {
      code: 400,
      reason: 'BadRequest',
      message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    });
    throwsPatch(() => jsonPatch(doc, ['add']), { code: 400, message: 'json: cannot unmarshal string into Go value of type jsonpatch.Operation' });
  });
});

describe('strategicMergePatch', () => {
  const deployment = () => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, finalizers: ['a.example/x', 'b.example/y'] },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' }, creationTimestamp: null },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.25',
              env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
              ports: [{ containerPort: 80, protocol: 'TCP' }],
            },
            { name: 'sidecar', image: 'busybox:1.36' },
          ],
          tolerations: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
          volumes: [{ name: 'cfg', configMap: { name: 'web' } }],
        },
      },
    },
  });

  it('applies what client-side kubectl apply sends for a new image and env value', () => {
    const lastApplied = '{"apiVersion":"apps/v1","kind":"Deployment"}\n';
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
            containers: [
              {
                '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }, { name: 'C' }],
                env: [{ name: 'B', value: '3' }, { name: 'C', value: 'new' }],
                image: 'nginx:1.26',
                name: 'app',
              },
            ],
          },
        },
      },
    };
    const original = deployment();
    const result = strategicMergePatch(original, patch, 'deployments.apps') as ReturnType<typeof deployment>;
    const expected = deployment();
    (expected.metadata as Record<string, unknown>).annotations = { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied };
    expected.spec.template.spec.containers[0] = {
      name: 'app',
      image: 'nginx:1.26',
      env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: 'new' }],
      ports: [{ containerPort: 80, protocol: 'TCP' }],
    };
    assert.deepEqual(result, expected);
    assert.deepEqual(original, deployment(), 'input untouched');
  });

  it('orders a keyed list by $setElementOrder, then the patch, then the live object', () => {
    const pod = { spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }, { name: 'c', image: 'c:1' }] } };
    const reordered = strategicMergePatch(pod, {
      spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }], containers: [{ name: 'b', image: 'b:2' }] },
    }, 'pods');
    assert.deepEqual(reordered, { spec: { containers: [{ name: 'c', image: 'c:1' }, { name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }] } });
    const appended = strategicMergePatch(pod, { spec: { containers: [{ name: 'z', image: 'z:1' }, { name: 'a', image: 'a:2' }] } }, 'pods');
    assert.deepEqual(appended, {
      spec: { containers: [{ name: 'z', image: 'z:1' }, { name: 'a', image: 'a:2' }, { name: 'b', image: 'b:1' }, { name: 'c', image: 'c:1' }] },
    });
  });

  it('keeps Go\'s in-place slice effects when a deletion and an addition meet $setElementOrder', () => {
    const pod = { spec: { containers: ['d', 'e', 'c', 'b'].map((n) => ({ name: n, image: `${n}:1` })) } };
    const result = strategicMergePatch(pod, {
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
        containers: [{ name: 'e', $patch: 'delete' }, { name: 'a', image: 'a:1' }],
      },
    }, 'pods') as { spec: { containers: Array<{ name: string }> } };
    assert.deepEqual(result.spec.containers.map((c) => c.name), ['d', 'a', 'b', 'c']);
  });

  it('deletes a list element with $patch: delete', () => {
    const result = strategicMergePatch(deployment(), {
      spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } },
    }, 'deployments.apps') as ReturnType<typeof deployment>;
    assert.deepEqual(result.spec.template.spec.containers.map((c) => c.name), ['app']);
  });

  it('replaces a whole keyed list with $patch: replace', () => {
    const result = strategicMergePatch(deployment(), {
      spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } },
    }, 'deployments.apps') as ReturnType<typeof deployment>;
    assert.deepEqual(result.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
  });

  it('replaces or empties a map with $patch', () => {
    const replaced = strategicMergePatch(deployment(), { spec: { selector: { $patch: 'replace', matchLabels: { x: 'y' } } } }, 'deployments.apps');
    assert.deepEqual((replaced as ReturnType<typeof deployment>).spec.selector, { matchLabels: { x: 'y' } });
    const emptied = strategicMergePatch(deployment(), { spec: { strategy: { $patch: 'delete' } } }, 'deployments.apps');
    assert.deepEqual((emptied as ReturnType<typeof deployment>).spec.strategy, {});
  });

  it('merges finalizers as a set and deletes from them by $deleteFromPrimitiveList', () => {
    const merged = strategicMergePatch(deployment(), { metadata: { finalizers: ['c.example/z', 'a.example/x'] } }, 'deployments.apps');
    assert.deepEqual((merged as ReturnType<typeof deployment>).metadata.finalizers, ['c.example/z', 'a.example/x', 'b.example/y']);
    const removed = strategicMergePatch(deployment(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example/x'] } }, 'deployments.apps');
    assert.deepEqual((removed as ReturnType<typeof deployment>).metadata.finalizers, ['b.example/y']);
    const ordered = strategicMergePatch(deployment(), {
      metadata: { '$setElementOrder/finalizers': ['b.example/y', 'a.example/x'] },
    }, 'deployments.apps');
    assert.deepEqual((ordered as ReturnType<typeof deployment>).metadata.finalizers, ['b.example/y', 'a.example/x']);
  });

  it('deletes with null and merges maps recursively (kubectl label/annotate/scale)', () => {
    const result = strategicMergePatch(deployment(), {
      metadata: { labels: { app: null, tier: 'frontend' }, annotations: { note: 'x' } },
      spec: { replicas: 3 },
    }, 'deployments.apps') as ReturnType<typeof deployment>;
    assert.deepEqual(result.metadata.labels, { tier: 'frontend' });
    assert.deepEqual((result.metadata as Record<string, unknown>).annotations, { note: 'x' });
    assert.equal(result.spec.replicas, 3);
    assert.deepEqual(result.spec.selector, { matchLabels: { app: 'web' } });
  });

  it('replaces untagged lists whole (tolerations, node taints, RBAC rules)', () => {
    const dep = strategicMergePatch(deployment(), { spec: { template: { spec: { tolerations: [{ operator: 'Exists' }] } } } }, 'deployments.apps');
    assert.deepEqual((dep as ReturnType<typeof deployment>).spec.template.spec.tolerations, [{ operator: 'Exists' }]);
    const node = strategicMergePatch(
      { spec: { taints: [{ key: 'a', effect: 'NoSchedule' }], podCIDRs: ['10.0.0.0/24'] } },
      { spec: { taints: [{ key: 'b', effect: 'NoSchedule' }], podCIDRs: ['fd00::/64'] } },
      'nodes',
    );
    assert.deepEqual(node, { spec: { taints: [{ key: 'b', effect: 'NoSchedule' }], podCIDRs: ['fd00::/64', '10.0.0.0/24'] } });
    const role = strategicMergePatch(
      { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
      { rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] },
      'clusterroles.rbac.authorization.k8s.io',
    );
    assert.deepEqual(role, { rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] });
  });

  it('merges container ports by containerPort and service ports by port', () => {
    const dep = strategicMergePatch(deployment(), {
      spec: { template: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 9090 }] }] } } },
    }, 'deployments.apps') as ReturnType<typeof deployment>;
    assert.deepEqual(dep.spec.template.spec.containers[0]?.ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }, { containerPort: 9090 }]);
    const svc = strategicMergePatch(
      { spec: { ports: [{ port: 53, protocol: 'UDP', name: 'dns' }, { port: 9153, name: 'metrics' }] } },
      { spec: { ports: [{ port: 9153, targetPort: 9153 }] } },
      'services',
    );
    // Items already live keep their live order; only new ones go first.
    assert.deepEqual(svc, { spec: { ports: [{ port: 53, protocol: 'UDP', name: 'dns' }, { port: 9153, name: 'metrics', targetPort: 9153 }] } });
  });

  it('clears unlisted keys with $retainKeys', () => {
    const result = strategicMergePatch(deployment(), {
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } },
    }, 'deployments.apps') as ReturnType<typeof deployment>;
    assert.deepEqual(result.spec.strategy, { type: 'Recreate' });
    throwsPatch(
      () => strategicMergePatch(deployment(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', foo: 1 } } }, 'deployments.apps'),
      { code: 400, reason: 'BadRequest', message: 'invalid patch format of retainKeys' },
    );
  });

  it('merges ownerReferences by uid', () => {
    const result = strategicMergePatch(
      { metadata: { ownerReferences: [{ uid: 'u1', name: 'a' }] } },
      { metadata: { ownerReferences: [{ uid: 'u2', name: 'b' }, { uid: 'u1', name: 'a2' }] } },
      'configmaps',
    );
    assert.deepEqual(result, { metadata: { ownerReferences: [{ uid: 'u2', name: 'b' }, { uid: 'u1', name: 'a2' }] } });
  });

  it('reports malformed patches as kube-apiserver does', () => {
    throwsPatch(
      () => strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 'deployments.apps'),
      { code: 500, message: 'map: map[image:x] does not contain declared merge key: name' },
    );
    throwsPatch(
      () => strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ $patch: 'merge' }] } } } }, 'deployments.apps'),
      { code: 500, message: 'merging lists cannot yet be specified in the patch' },
    );
    throwsPatch(
      () => strategicMergePatch(deployment(), { spec: { strategy: { $patch: 'merge', a: 1 } } }, 'deployments.apps'),
      { code: 500, message: 'unknown patch type: merge in map: map[$patch:merge a:1]' },
    );
    throwsPatch(
      () => strategicMergePatch(deployment(), { metadata: { $deleteFromPrimitiveList: ['x'] } }, 'deployments.apps'),
      { code: 400, message: 'invalid patch format of primitive list' },
    );
    throwsPatch(
      () => strategicMergePatch({ metadata: { finalizers: [['a']] } }, { metadata: { finalizers: [['b']] } }, 'configmaps'),
      { code: 422, reason: 'Invalid', message: 'lists of lists are not supported' },
    );
    throwsPatch(
      () => strategicMergePatch(deployment(), {
        spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }], containers: [{ name: 'app', image: 'y' }] } } },
      }, 'deployments.apps'),
      {
        code: 500,
        message: "The order in patch list:\n[map[image:y name:app]]\n doesn't match $setElementOrder list:\n[map[name:sidecar]]\n",
      },
    );
    throwsPatch(() => strategicMergePatch({}, [1], 'pods'), {
      code: 400,
      message: 'json: cannot unmarshal array into Go value of type map[string]interface {}',
    });
  });

  it('knows the merge keys of the served kinds', () => {
    const pod = patchSchemaFor('pods');
    assert.deepEqual(pod['spec.containers'], { strategy: 'merge', mergeKey: 'name' });
    assert.deepEqual(pod['spec.initContainers.env'], { strategy: 'merge', mergeKey: 'name' });
    assert.deepEqual(pod['spec.containers.volumeMounts'], { strategy: 'merge', mergeKey: 'mountPath' });
    assert.deepEqual(pod['spec.volumes'], { strategy: 'merge,retainKeys', mergeKey: 'name' });
    assert.equal(pod['spec.tolerations'], undefined);
    assert.deepEqual(pod['metadata.finalizers'], { strategy: 'merge' });
    const ds = patchSchemaFor('daemonsets.apps');
    assert.deepEqual(ds['spec.template.spec.containers.ports'], { strategy: 'merge', mergeKey: 'containerPort' });
    assert.deepEqual(ds['spec.template.metadata.ownerReferences'], { strategy: 'merge', mergeKey: 'uid' });
    assert.deepEqual(ds['status.conditions'], { strategy: 'merge', mergeKey: 'type' });
    assert.equal(patchSchemaFor('nodes')['spec.taints'], undefined);
    assert.deepEqual(patchSchemaFor('serviceaccounts').secrets, { strategy: 'merge', mergeKey: 'name' });
    assert.equal(patchSchemaFor('serviceaccounts').imagePullSecrets, undefined);
  });
});
