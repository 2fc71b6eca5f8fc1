// Parses a request path the way kube-apiserver's RequestInfoFactory does.

export interface RequestInfo {
  isResource: boolean;
  path: string;
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string | undefined;
  name: string | undefined;
}

export function requestInfo(method: string, url: URL): RequestInfo {
  const path = url.pathname;
  const parts = path.split('/').filter(Boolean);
  const base: RequestInfo = { isResource: false, path, verb: method.toLowerCase(), group: '', version: '', resource: '', subresource: '', namespace: undefined, name: undefined };
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    base.version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    base.group = parts[1]!;
    base.version = parts[2]!;
    rest = parts.slice(3);
  } else return base;
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    base.namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    base.namespace = rest[1];
  }
  [base.resource = '', base.name, base.subresource = ''] = rest;
  base.isResource = base.resource !== '';
  base.verb = verbFor(method, base.name !== undefined, watchPrefix || isWatch(url));
  return base;
}

function isWatch(url: URL): boolean {
  const value = url.searchParams.get('watch');
  return value === 'true' || value === '1';
}

function verbFor(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}
