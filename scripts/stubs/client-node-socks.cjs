// Stands in for socks where @kubernetes/client-node imports it: evaluated
// when a connection goes through a SOCKS proxy, not on every start.
Object.defineProperty(exports, 'SocksClient', { enumerable: true, get: () => require('socks').SocksClient });
