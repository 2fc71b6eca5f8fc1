// The test cluster's sizes, seen through real kubectl: the guide's 3 nodes
// unchanged, --nodes for bigger kubeadm clusters, and --calico for a
// cluster that starts with Calico installed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cleanEnv, eventually, kubectl, SHARED_CALICO, withCluster, type Result } from '../helpers.ts';

type K = (...args: string[]) => Promise<Result>;

const client = (kubeconfig: string): K => (...args) => kubectl(args, cleanEnv({ KUBECONFIG: kubeconfig }));

const NODE_ROWS = ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address} {.spec.podCIDR}{"\\n"}{end}'];

async function kubeadmNetworking(k: K): Promise<string> {
  const config = (await k('get', 'configmap', '-n', 'kube-system', 'kubeadm-config', '-o', 'jsonpath={.data.ClusterConfiguration}')).stdout;
  return config.split('\n').filter((line) => /^ {2}(podSubnet|serviceSubnet):/.test(line)).join('\n');
}

test('the default cluster is the guide\'s: 3 nodes, their names, addresses and podCIDRs, podSubnet 10.97.0.0/16', async () => {
  await withCluster({}, async (cluster) => {
    const k = client(cluster.kubeconfigPath);
    assert.equal((await k(...NODE_ROWS)).stdout, [
      'kubernetes-master-01 192.168.56.11 10.97.0.0/24',
      'kubernetes-worker-01 192.168.56.12 10.97.1.0/24',
      'kubernetes-worker-02 192.168.56.13 10.97.2.0/24',
      '',
    ].join('\n'));
    assert.equal(await kubeadmNetworking(k), '  podSubnet: 10.97.0.0/16\n  serviceSubnet: 10.96.0.0/16');
  });
});

test('--nodes 50: a control plane and 49 workers NotReady, pending pods counting every node; the guide\'s install makes them Ready', async () => {
  await withCluster({ nodes: 50 }, async (cluster) => {
    const k = client(cluster.kubeconfigPath);
    const rows = (await k(...NODE_ROWS)).stdout.trim().split('\n');
    assert.equal(rows.length, 50);
    assert.equal(rows[0], 'kubernetes-master-01 192.168.56.11 10.97.0.0/24');
    assert.equal(rows[49], 'kubernetes-worker-49 192.168.56.60 10.97.49.0/24');
    assert.match((await k('get', 'nodes', '--no-headers')).stdout, /^(kubernetes-\S+ +NotReady +.*\n){50}$/);
    assert.equal(await kubeadmNetworking(k), '  podSubnet: 10.97.0.0/16\n  serviceSubnet: 10.96.0.0/16');
    const scheduling = await eventually(async () => (await k('get', 'events', '-n', 'kube-system', '--field-selector', 'reason=FailedScheduling', '-o', 'jsonpath={.items[0].message}')).stdout || undefined);
    assert.equal(scheduling, '0/50 nodes are available: 50 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/50 nodes are available: 50 Preemption is not helpful for scheduling.');

    assert.equal((await k('create', '-f', path.join(SHARED_CALICO, 'v3.29.0', 'tigera-operator.yaml'))).code, 0);
    const resources = path.join(path.dirname(cluster.kubeconfigPath), 'custom-resources.yaml');
    fs.writeFileSync(resources, fs.readFileSync(path.join(SHARED_CALICO, 'v3.29.0', 'custom-resources.yaml'), 'utf8').replace('192.168.0.0/16', '10.97.0.0/16'));
    assert.equal((await k('create', '-f', resources)).code, 0);
    await eventually(async () => /^(\S+ +True +False +False .*\n){3}$/.test((await k('get', 'tigerastatus', '--no-headers')).stdout) || undefined, 40_000);
    assert.match((await k('get', 'nodes', '--no-headers')).stdout, /^(kubernetes-\S+ +Ready +.*\n){50}$/);
    assert.equal((await k('get', 'deployment', '-n', 'calico-system', 'calico-typha', '-o', 'jsonpath={.status.readyReplicas}')).stdout, '3');
  });
});

test('--nodes 2000 --calico v3.29.0: every node Ready and every TigeraStatus Available when the cluster starts, on networks sized for 2,000 nodes', async () => {
  await withCluster({ nodes: 2000, calico: 'v3.29.0' }, async (cluster) => {
    const k = client(cluster.kubeconfigPath);
    const nodes = (await k('get', 'nodes', '--no-headers')).stdout.trim().split('\n');
    assert.equal(nodes.length, 2000);
    assert.deepEqual(nodes.filter((line) => !/^kubernetes-(master|worker)-\d{4} +Ready /.test(line)), []);
    // SINCE is an age: 2m28s once starting 2,000 nodes took that long on a busy machine.
    assert.equal((await k('get', 'tigerastatus')).stdout.replace(/ +(\d+m)?\d+s$/gm, ''), [
      'NAME        AVAILABLE   PROGRESSING   DEGRADED   SINCE',
      'apiserver   True        False         False',
      'calico      True        False         False',
      'ippools     True        False         False',
      '',
    ].join('\n'));
    assert.equal(await kubeadmNetworking(k), '  podSubnet: 10.128.0.0/13\n  serviceSubnet: 10.96.0.0/16');
    assert.equal((await k('get', 'ippools.crd.projectcalico.org', 'default-ipv4-ippool', '-o', 'jsonpath={.spec.cidr}')).stdout, '10.128.0.0/13');
    const last = (await k('get', 'node', 'kubernetes-worker-1999', '-o', 'jsonpath={.status.addresses[0].address} {.spec.podCIDR} {.metadata.annotations.projectcalico\\.org/IPv4Address}')).stdout;
    assert.equal(last, '192.168.63.218 10.135.207.0/24 192.168.63.218/21');
    // The operator's typha autoscaler: ⌊2000/200⌋ + 2.
    assert.equal((await k('get', 'deployment', '-n', 'calico-system', 'calico-typha', '-o', 'jsonpath={.status.readyReplicas}')).stdout, '12');
    assert.equal((await k('get', 'daemonset', '-n', 'calico-system', 'calico-node', '-o', 'jsonpath={.status.numberReady}')).stdout, '2000');
    const creators = (await k('get', 'deployment', '-n', 'tigera-operator', 'tigera-operator', '-o', 'jsonpath={.metadata.managedFields[*].manager}')).stdout;
    assert.match(creators, /^kubectl-create( kube-controller-manager)+$/, 'created as the guide creates it; its status written by the controllers');

    // BGP through route reflectors, as the docs advise above 100 nodes: no mesh; three workers reflect for everyone.
    assert.equal((await k('get', 'bgpconfigurations.crd.projectcalico.org', 'default', '-o', 'jsonpath={.spec.nodeToNodeMeshEnabled}')).stdout, 'false');
    assert.equal((await k('get', 'nodes', '-l', 'route-reflector=true', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations.projectcalico\\.org/RouteReflectorClusterID}{"\\n"}{end}')).stdout,
      'kubernetes-worker-0001 244.0.0.1\nkubernetes-worker-0002 244.0.0.1\nkubernetes-worker-0003 244.0.0.1\n');
    const birdcl = async (node: string) => {
      const pod = (await k('get', 'pods', '-n', 'calico-system', '-l', 'k8s-app=calico-node', '--field-selector', `spec.nodeName=${node}`, '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
      const result = await k('exec', '-n', 'calico-system', pod, '-c', 'calico-node', '--', 'birdcl', '-s', '/var/run/calico/bird.ctl', 'show', 'protocols');
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.split('\n').filter((line) => / BGP /.test(line)).map((line) => line.split(/ +/));
    };
    const ordinary = await birdcl('kubernetes-worker-1999');
    assert.deepEqual(ordinary.map((c) => `${c[0]} ${c[3]} ${c[5]}`), ['Node_192_168_56_12 up Established', 'Node_192_168_56_13 up Established', 'Node_192_168_56_14 up Established']);
    const reflector = await birdcl('kubernetes-worker-0002');
    assert.equal(reflector.length, 1999, 'a reflector peers with every other node');
    assert.ok(reflector.every((c) => /^Node_/.test(c[0]!) && c[5] === 'Established'));
  });
});
