// Stands in for @kubernetes/client-node's generated API client in the
// bundle: kubectl-calico uses KubeConfig for loading and authentication
// only, never makeApiClient, and evaluating the generated client costs
// start-up time on every command that talks to a cluster.
const unused = () => {
  throw new Error('the generated Kubernetes API client is not part of kubectl-calico');
};
export const createConfiguration = unused;
export class ServerConfiguration {
  constructor() {
    unused();
  }
}
