// Faults of Calico IPAM, as live knobs on the Runtime: addresses that leak
// because a pod's CNI DEL never reached IPAM, and a garbage collector that
// does not run. (Leftovers of a deleted node are seeded once: see
// leaveDeletedNodeIpam in calico-kube-controllers.ts.)

export class IpamFaults {
  /**
   * Pods (`namespace/podPrefix`, prefix match on the pod name) whose CNI
   * DEL fails when they go — a node that rebooted, a force delete while the
   * kubelet was away: their addresses and handles stay allocated.
   */
  leakingPods: string[] = [];
  #gcStopped = false;
  readonly #gcListeners: ((stopped: boolean) => void)[] = [];

  /** calico-kube-controllers' IPAM garbage collector is not running; starting it again resyncs from scratch, as a restart does. */
  get gcStopped(): boolean {
    return this.#gcStopped;
  }

  set gcStopped(stopped: boolean) {
    if (stopped === this.#gcStopped) return;
    this.#gcStopped = stopped;
    for (const listener of this.#gcListeners) listener(stopped);
  }

  onGcStoppedChange(listener: (stopped: boolean) => void): void {
    this.#gcListeners.push(listener);
  }

  leaks(namespace: string, pod: string): boolean {
    return this.leakingPods.some((spec) => {
      const [ns, prefix = ''] = spec.split('/');
      return ns === namespace && pod.startsWith(prefix);
    });
  }
}
