// What may leave the cluster in a diagnostics bundle. The rule learnt from
// cilium's sysdump (cilium-cli PR 1631/1634): keep an allow-list where the
// object is secret by nature — a Secret is its name, namespace, type and key
// names, nothing else — and on every other object drop the two fields that
// copy whole manifests (`last-applied-configuration`, managedFields), then
// replace any value that looks like a credential. A false positive only hides
// a value; a miss leaks one, so the patterns err wide.

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Words in an environment variable's name that say its value is a credential. */
const SECRET_NAME = /TOKEN|PASSWORD|SECRET|KEY/i;

/**
 * Credentials as they appear in text: PEM blocks (a certificate is not secret, but a key block looks the same
 * until parsed) and base64 of a PEM header (`client-key-data: LS0tLS1CRUdJTi…`), bearer tokens, JWTs (base64url
 * of `{"` is `eyJ`), and a kubeconfig's or a flag's credential fields.
 */
const CREDENTIALS: RegExp[] = [
  /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g,
  /LS0tLS1CRUdJTi[A-Za-z0-9+/=]*/g,
  /\bBearer\s+[A-Za-z0-9._~+/-]+=*/gi,
  /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
  /^([ \t-]*"?(?:token|password|passwd|client-key-data|id-token|refresh-token|access-token|client-secret|secret)"?[ \t]*[:=][ \t]*)(?!\s*$).+$/gim,
  /(--(?:token|password|client-secret|secret)[-a-z]*[= ])\S+/gi,
];

export function redacted(value: string): string {
  return `<redacted: ${Buffer.byteLength(value)} bytes>`;
}

/** Whether a value holds anything CREDENTIALS matches. */
export function looksSecret(value: string): boolean {
  return CREDENTIALS.some((pattern) => {
    pattern.lastIndex = 0;
    return pattern.test(value);
  });
}

/**
 * Free text (logs, command output, a file read from --dir): each credential replaced where it stands, the rest
 * kept, so a log stays readable around a token it printed.
 */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of CREDENTIALS) {
    pattern.lastIndex = 0;
    out = out.replace(pattern, (match: string, prefix?: string) => (typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}${redacted(match.slice(prefix.length))}` : redacted(match)));
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A Secret as the bundle shows it: what exists, never what it holds or says about itself (annotations). */
export function secretSummary(secret: { metadata?: { name?: string; namespace?: string }; type?: string; data?: Record<string, unknown>; stringData?: Record<string, unknown> }): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secret.metadata?.name, namespace: secret.metadata?.namespace },
    type: secret.type,
    keys: Object.keys({ ...secret.data, ...secret.stringData }).sort(),
  };
}

/**
 * Any other object (a list's items too): without last-applied-configuration and managedFields, every string that
 * looks like a credential replaced whole, and in pod specs (a Pod's, or a workload's template) every env value
 * whose name says it is a credential. Env values taken from Secrets are references and stay. A Secret met here
 * (inside a List) is cut to its summary.
 */
export function redactObject<T>(value: T): T {
  return walk(value as Json, []) as T;
}

function walk(value: Json, path: string[]): Json {
  if (typeof value === 'string') return looksSecret(value) ? redacted(value) : value;
  if (Array.isArray(value)) return value.map((item) => walk(item, path));
  if (value === null || typeof value !== 'object') return value;
  // Items of a list carry no kind: a Secret is also told by its shape (a type, and data or stringData).
  // A summary already made (it has `keys`) is kept as it is.
  const secret = value.kind === 'Secret' ? !Array.isArray(value.keys) : typeof value.type === 'string' && typeof value.metadata === 'object' && ('data' in value || 'stringData' in value);
  if (secret) return secretSummary(value as never) as Json;
  const out: { [key: string]: Json } = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'managedFields' && path.at(-1) === 'metadata') continue;
    if (key === 'annotations' && path.at(-1) === 'metadata' && child && typeof child === 'object' && !Array.isArray(child)) {
      const { [LAST_APPLIED]: _dropped, ...rest } = child;
      out[key] = walk(rest, [...path, key]);
      continue;
    }
    if (key === 'env' && Array.isArray(child) && isContainerList(path)) {
      out[key] = child.map((entry) => envEntry(entry, [...path, key]));
      continue;
    }
    out[key] = walk(child, [...path, key]);
  }
  return out;
}

/** The path ends in a container of a pod spec (containers, initContainers, ephemeralContainers). */
function isContainerList(path: string[]): boolean {
  return ['containers', 'initContainers', 'ephemeralContainers'].includes(path.at(-1) ?? '');
}

function envEntry(entry: Json, path: string[]): Json {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return walk(entry, path);
  const name = typeof entry.name === 'string' ? entry.name : '';
  if (typeof entry.value === 'string' && SECRET_NAME.test(name)) return { ...walk({ ...entry, value: null }, path) as object, value: redacted(entry.value) };
  return walk(entry, path);
}
