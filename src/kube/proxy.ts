import net from 'node:net';

/**
 * The proxy Go's http.ProxyFromEnvironment (and so kubectl) would use for a
 * server URL: HTTPS_PROXY for https, HTTP_PROXY for http, skipped for hosts
 * matched by NO_PROXY and always for localhost and loopback addresses.
 */
export function proxyFor(server: string, env: NodeJS.ProcessEnv): string | undefined {
  const url = new URL(server);
  const proxy = url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!proxy) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || isLoopback(host)) return undefined;
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  return noProxy.some((entry) => matchesNoProxy(host, url.port, entry)) ? undefined : proxy;
}

function isLoopback(host: string): boolean {
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

function matchesNoProxy(host: string, port: string, entry: string): boolean {
  if (entry === '*') return true;
  const [pattern = '', entryPort] = entry.includes(']:') || (!entry.includes('::') && entry.includes(':')) ? splitPort(entry) : [entry, undefined];
  if (entryPort && entryPort !== port) return false;
  if (pattern.includes('/') && net.isIP(host)) return inCidr(host, pattern);
  const name = pattern.replace(/^\*?\./, '');
  return host === name || host.endsWith(`.${name}`);
}

function splitPort(entry: string): [string, string] {
  const index = entry.lastIndexOf(':');
  return [entry.slice(0, index).replace(/^\[|\]$/g, ''), entry.slice(index + 1)];
}

function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = ''] = cidr.split('/');
  const list = new net.BlockList();
  try {
    list.addSubnet(base, Number(bits), net.isIPv6(base) ? 'ipv6' : 'ipv4');
    return list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}
