// Pod addresses: the node's InternalIP for hostNetwork pods; otherwise one
// from the CNI's range — a Calico IPPool's block for the node once Calico
// is there, else the node's podCIDR (what other CNIs such as flannel use).
import type { KubeObject } from '../types.ts';
import type { Runtime } from './runtime.ts';

const counters = new WeakMap<Runtime, Map<string, number>>();

export function nodeInternalIP(rt: Runtime, node: string): string {
  const object = rt.api.store.get('nodes', undefined, node);
  const addresses = (object?.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? [];
  return addresses.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
}

export function allocatePodIP(rt: Runtime, node: string): string {
  const perRuntime = counters.get(rt) ?? new Map<string, number>();
  counters.set(rt, perRuntime);
  const next = (perRuntime.get(node) ?? 0) + 1;
  perRuntime.set(node, next);
  const pool = calicoPool(rt);
  if (pool) {
    const [base, prefix] = parseV4(pool.cidr);
    const blockSize = pool.blockSize ?? 26;
    const blockIndex = Math.max(0, rt.api.store.position('nodes', undefined, node));
    const blockAddresses = 2 ** (32 - blockSize);
    const blocks = 2 ** Math.max(0, blockSize - prefix);
    return formatV4(base + (blockIndex % blocks) * blockAddresses + (next % (blockAddresses - 1)));
  }
  const podCIDR = (rt.api.store.get('nodes', undefined, node)?.spec as { podCIDR?: string } | undefined)?.podCIDR;
  const [base] = parseV4(podCIDR ?? '10.244.0.0/24');
  return formatV4(base + (next % 254) + 1);
}

function calicoPool(rt: Runtime): { cidr: string; blockSize?: number } | undefined {
  const pools = rt.api.store.list('ippools.crd.projectcalico.org') as (KubeObject & { spec?: { cidr?: string; blockSize?: number; disabled?: boolean } })[];
  const pool = pools.find((p) => p.spec?.cidr?.includes('.') && !p.spec.disabled);
  return pool?.spec?.cidr ? { cidr: pool.spec.cidr, ...(pool.spec.blockSize ? { blockSize: pool.spec.blockSize } : {}) } : undefined;
}

export function parseV4(cidr: string): [number, number] {
  const [address = '0.0.0.0', bits = '32'] = cidr.split('/');
  const value = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  return [value, Number(bits)];
}

export function formatV4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
