// Stands in for socks-proxy-agent where @kubernetes/client-node imports it:
// the package (with socks and ip-address) is evaluated
// when a kubeconfig's proxy-url names a SOCKS proxy, not on every start.
Object.defineProperty(exports, 'SocksProxyAgent', { enumerable: true, get: () => require('socks-proxy-agent').SocksProxyAgent });
