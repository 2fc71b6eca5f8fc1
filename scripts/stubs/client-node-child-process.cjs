// Stands in for node:child_process where @kubernetes/client-node imports it
// (credential plugins, WSL's kubeconfig): Node compiles that builtin when a
// command runs one, not on every start (~8 ms).
module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });
