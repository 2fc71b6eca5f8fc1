// Stands in for node:child_process where @kubernetes/client-node imports it
// (credential plugins, WSL's kubeconfig): Node loads that builtin when a
// command runs one, not on every start. client-node only calls its functions
// (spawn, spawnSync, execSync), and keeps spawn when KubeConfig is
// created: each name is a function that loads the builtin when called.
// __esModule is what the bundle's import helper asks of every CommonJS module.
module.exports = new Proxy({}, {
  get: (_, name) => (name === '__esModule' ? undefined : (...args) => require('node:child_process')[name](...args)),
});
