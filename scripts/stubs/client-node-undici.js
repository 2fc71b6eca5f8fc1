// Stands in for undici where @kubernetes/client-node's config module
// imports it: only KubeConfig's fetch dispatchers use it, and kubectl-calico
// sends its requests with node:https (applyToHTTPSOptions).
const unused = () => {
  throw new Error('undici is not part of kubectl-calico');
};
export class Agent {
  constructor() {
    unused();
  }
}
export class ProxyAgent extends Agent {}
