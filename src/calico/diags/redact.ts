// What may leave the cluster in a diagnostics bundle. The rule learnt from
// cilium's sysdump (cilium-cli PR 1631/1634): keep an allow-list where the
// object is secret by nature — a Secret is its name, namespace, type and key
// names, nothing else — and on every other object drop the two fields that
// copy whole manifests (`last-applied-configuration`, managedFields), then
// replace any value that is a credential: one under a credential's name
// (`password`, `DB_PASSWORD`, `etcdPassword`, `k8sAPIToken`, `tls.key`, an
// env entry named so), and one that looks like a credential wherever it
// stands (PEM blocks and their bodies, bearer and basic auth, JWTs, URLs with
// a password, `key=value` and `"key": "value"` under a credential's name). A
// false positive only hides a value; a miss leaks one, so the patterns err
// wide — but a name that points at a credential (`secretName`, `tokenFile`,
// `secretKeyRef`, `tokenExpirationSeconds`) or that only looks like one
// (a toleration's `key`, `topologyKey`, `WireguardPublicKey`) is not one.

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Words in an environment variable's name that say its value is a credential, wherever they stand in it. */
const SECRET_ENV_NAME = /TOKEN|PASSWORD|PASSWD|SECRET|KEY|CREDENTIAL/i;

/** Parts of a name that make it a credential's wherever they stand (`etcdPassword`, `FELIX_TYPHATOKEN`). */
const CREDENTIAL_PART = /password|passwd|passphrase|secret|token|credential/;
/** Words that do as whole words (`DB_PASS`, `AUTH`, `creds`, `X-API-KEY` is below). */
const CREDENTIAL_WORD = new Set(['pass', 'pwd', 'auth', 'authorization', 'creds', 'cookie', 'psk', 'apikey', 'privatekey', 'jwt']);
/** `key` is a credential's after one of these (`tls.key`, `privateKey`, `API_KEY`, `etcdKey`), not alone (a toleration's) nor after `public`. */
const KEY_QUALIFIER = new Set(['private', 'api', 'access', 'secret', 'client', 'server', 'signing', 'encryption', 'ssh', 'tls', 'ca', 'etcd', 'session', 'shared', 'master', 'hmac', 'account', 'service']);
/** A name ending in one of these points at a credential or describes it (`secretName`, `tokenFile`, `passwordRef`, `tokenExpirationSeconds`, `authMode`). */
const REFERENCE_WORD = new Set([
  'file', 'files', 'path', 'paths', 'dir', 'directory', 'ref', 'refs', 'name', 'names', 'namespace', 'seconds', 'ttl', 'duration',
  'timeout', 'interval', 'expiration', 'expiry', 'expires', 'mode', 'type', 'kind', 'enabled', 'disabled', 'required', 'optional',
  'audience', 'audiences', 'url', 'uri', 'endpoint', 'endpoints', 'server', 'host', 'port', 'address', 'format', 'version', 'algorithm',
  'usage', 'usages', 'provider', 'method', 'source', 'sources', 'selector', 'status', 'state', 'length', 'size', 'count', 'limit',
]);

/** A name's words, lower case: split at anything not a letter or digit and at camelCase (`k8sAPIToken` → k8s, api, token). */
function words(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

const judged = new Map<string, boolean>();

/** Whether a key, a flag or a variable of this name holds a credential (the same few names recur in every object: judged once). */
export function credentialName(name: string): boolean {
  let judgement = judged.get(name);
  if (judgement === undefined) judged.set(name, judgement = judge(name));
  return judgement;
}

function judge(name: string): boolean {
  const parts = words(name);
  const last = parts.at(-1);
  if (last === undefined || REFERENCE_WORD.has(last)) return false;
  if (CREDENTIAL_PART.test(name.toLowerCase())) return true;
  return parts.some((word, i) => CREDENTIAL_WORD.has(word) || (word === 'key' && i > 0 && KEY_QUALIFIER.has(parts[i - 1]!)));
}

/** An environment variable's value is a credential's by the documented words (TOKEN, PASSWORD, SECRET, KEY) or by its name. */
function credentialEnv(name: string): boolean {
  return SECRET_ENV_NAME.test(name) || credentialName(name);
}

export function redacted(value: string): string {
  return `<redacted: ${Buffer.byteLength(value)} bytes>`;
}

/** A value between quotes (`"…"`, `'…'`, an escaped `\"…\"`) redacted inside them; an empty or already redacted one kept. */
function hideQuoted(value: string): string {
  const quote = /^(\\"|"|')([\s\S]*)\1$/.exec(value);
  const [open, inner] = quote ? [quote[1]!, quote[2]!] : ['', value];
  return kept(inner) ? value : `${open}${redacted(inner)}${open}`;
}

/** Values that cannot be a credential: nothing, one already redacted, a boolean or null (`automountServiceAccountToken: false`). */
function kept(value: string): boolean {
  return value === '' || value.startsWith('<redacted: ') || /^(?:true|false|null|~)$/i.test(value);
}

/** What a quoted or bare value in text can be. */
const VALUE = String.raw`("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|\\"(?:(?!\\").)*\\"|[^\s"'\x60,;&(){}[\]<>\\]+)`;
/** Key words cheap to look for before a name is judged (credentialName decides). */
const KEY_HINT = String.raw`(?:pass|pwd|secret|token|credential|creds|auth|key|cookie|psk|jwt)`;

/** One kind of credential in text: a cheap test that the text may hold one (most logs hold no URL, no PEM), then the replacement. */
interface Rule {
  gate: RegExp;
  pattern: RegExp;
  replace: (match: string, ...groups: string[]) => string;
}

const rule = (gate: RegExp, pattern: RegExp, replace: Rule['replace']): Rule => ({ gate, pattern, replace });
const whole = (match: string) => redacted(match);

/**
 * Credentials as they appear in text, in the order they are replaced. PEM blocks (a certificate is not secret,
 * but a key block looks the same until parsed), to the end of the text when cut there; base64 of a PEM header
 * (`client-key-data: LS0tLS1CRUdJTi…`); a URL's password; an Authorization header's value; bearer and basic
 * tokens; JWTs (base64url of `{"` is `eyJ`); an env entry (`name: DB_PASSWORD` then `value: …`, YAML or JSON);
 * a YAML block under a credential's name; a line `password: …` (the rest of the line); `--token …`. Then
 * danglingPem() and keyValues().
 */
const RULES: Rule[] = [
  rule(/-----BEGIN /, /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g, whole),
  rule(/LS0tLS1CRUdJTi/, /LS0tLS1CRUdJTi[A-Za-z0-9+/=]*/g, whole),
  rule(/:\/\/[^\s/@]*:/, /(:\/\/[^\s:/?#@"'<>]*:)([^\s/?#@"'<>]+)(?=@)/g, (_m, before, secret) => `${before}${redacted(secret!)}`),
  rule(/authorization/i, /(\bauthorization\\?["']?[ \t]*[:=][ \t]*\\?["']?)(\[?(?:[A-Za-z][\w-]*[ \t]+)?[^\s"',;\\<\]]+\]?)/gi, (_m, before, secret) => `${before}${redacted(secret!)}`),
  rule(/[Bb](?:earer|asic)/, /\b[Bb](?:earer|asic)[ \t]+(?=[A-Za-z0-9._~+/-]*(?:[0-9+/=._~-]|[a-z][A-Z]))[A-Za-z0-9._~+/-]{8,}=*/g, whole),
  rule(/eyJ/, /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, whole),
  rule(
    /value/,
    new RegExp(String.raw`(["']?name["']?[ \t]*:[ \t]*["']?)([\w.-]+)(["']?[ \t]*,?[ \t]*(?:\r?\n[ \t]*)?["']?value["']?[ \t]*:[ \t]*)${VALUE}`, 'g'),
    (m, before, name, between, value) => (credentialEnv(name!) ? `${before}${name}${between}${hideQuoted(value!)}` : m),
  ),
  rule(
    /:[ \t]*[|>]/,
    /^([ \t]*)((?:-[ \t]+)?["']?([\w.-]+)["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*)((?:\r?\n(?:\1[ \t]+\S.*|[ \t]*(?=\r?\n)))+)/gm,
    (m, indent, head, key, block) => (credentialName(key!) ? `${indent}${head}${block!.replace(/\S[\s\S]*\S|\S/, (inner) => redacted(inner))}` : m),
  ),
  rule(
    new RegExp(KEY_HINT, 'i'),
    /^([ \t]*(?:-[ \t]+)?(?:export[ \t]+)?["']?)(\w[\w.-]*)(["']?[ \t]*[:=][ \t]*)(?![|>][-+0-9]*[ \t]*$)(\S.*)$/gm,
    (m, before, key, between, value) => (credentialName(key!) && !kept(value!.trimEnd().replace(/^(["'])(.*)\1$/, '$2')) ? `${before}${key}${between}${redacted(value!)}` : m),
  ),
  rule(
    /--/,
    new RegExp(String.raw`(?<![\w-])(--[\w-]*${KEY_HINT}[\w-]*)([ \t]+)([^\s<-]\S*)`, 'gi'),
    (m, flag, between, value) => (credentialName(flag!) && !kept(value!) ? `${flag}${between}${redacted(value!)}` : m),
  ),
];

const END_MARKER = /-----END [A-Z0-9 ]+-----/g;

/** A base64 character (`[A-Za-z0-9+/=]`). */
function base64Char(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 43 || code === 47 || code === 61;
}

/**
 * A PEM body whose BEGIN is not in the text — a log kept from a line inside a key block, or output cut there — is
 * the lines of base64 (16 characters or more each) right before an END line that no BEGIN opened (whole blocks
 * are gone by then), with real line breaks or escaped ones (`\n` inside a JSON string): read backwards from the
 * END line, and replaced with it.
 */
function danglingPem(text: string): string {
  const pieces: string[] = [];
  let done = 0;
  END_MARKER.lastIndex = 0;
  for (let match = END_MARKER.exec(text); match; match = END_MARKER.exec(text)) {
    let start = match.index;
    for (;;) {
      let at = start;
      while (at > done && (text[at - 1] === ' ' || text[at - 1] === '\t')) at--;
      let separator: number;
      if (text[at - 1] === '\n') separator = text[at - 2] === '\r' ? at - 2 : at - 1;
      else if (at - 2 >= done && text.slice(at - 2, at) === '\\n') separator = text.slice(at - 4, at - 2) === '\\r' ? at - 4 : at - 2;
      else break;
      let line = separator;
      while (line > done && base64Char(text.charCodeAt(line - 1))) line--;
      if (line > done && text[line - 1] === '\\') line++; // the n or r of an escaped line break before this line
      if (separator - line < 16) break;
      start = line;
      while (start > done && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
    }
    if (start === match.index) continue;
    pieces.push(text.slice(done, start), redacted(text.slice(start, match.index + match[0].length)));
    done = match.index + match[0].length;
  }
  if (done === 0) return text;
  pieces.push(text.slice(done));
  return pieces.join('');
}

/** The end of a key holding a hint word, its closing quote if any, and its `:` or `=`: where keyValues() looks. */
const KEY_END = new RegExp(String.raw`${KEY_HINT}[\w.-]*(\\?["']?)[ \t]*[:=][ \t]*`, 'gi');
const VALUE_AT = new RegExp(VALUE, 'y');

/** A character of a key (`[\w.-]`). */
function keyChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 46 || code === 45;
}

/**
 * `password=…`, `password: …`, `"password":"…"`, `\"password\":\"…\"` and `--db-password=…` anywhere in a line,
 * the value (quoted or up to a space or delimiter) replaced when credentialName() says the key is a credential's.
 * Driven by the hint words rather than by every word of the text: ten megabytes of log take tens of milliseconds.
 */
function keyValues(text: string): string {
  const pieces: string[] = [];
  let done = 0;
  KEY_END.lastIndex = 0;
  for (let match = KEY_END.exec(text); match; match = KEY_END.exec(text)) {
    const quote = match[1]!;
    let keyEnd = match.index;
    while (keyEnd < text.length && keyChar(text.charCodeAt(keyEnd))) keyEnd++;
    let keyStart = match.index;
    while (keyStart > done && keyChar(text.charCodeAt(keyStart - 1))) keyStart--;
    if (quote && text.slice(keyStart - quote.length, keyStart) !== quote) continue;
    if (text[keyStart - 1] === '/') continue; // the end of a path (`namespaces/x/secrets.json: forbidden`), not a key
    if (!credentialName(text.slice(keyStart, keyEnd))) continue;
    VALUE_AT.lastIndex = match.index + match[0].length;
    const value = VALUE_AT.exec(text)?.[0];
    if (value === undefined) continue;
    const hidden = hideQuoted(value);
    if (hidden === value) continue;
    pieces.push(text.slice(done, VALUE_AT.lastIndex - value.length), hidden);
    done = VALUE_AT.lastIndex;
    KEY_END.lastIndex = done;
  }
  if (done === 0) return text;
  pieces.push(text.slice(done));
  return pieces.join('');
}

/** Text without any of these cannot hold what RULES, danglingPem() and keyValues() replace: most strings of an object are checked with it alone. */
const HINT = new RegExp(String.raw`-----|LS0tLS1CRUdJTi|:\/\/[^\s/@]*:[^\s/@]*@|bearer|basic|eyJ|${KEY_HINT}`, 'i');

/**
 * Free text (logs, command output, a file read from --dir, diags.log): each credential replaced where it stands,
 * the rest kept, so a log stays readable around a token it printed.
 */
export function redactText(text: string): string {
  if (!HINT.test(text)) return text;
  let out = text;
  for (const { gate, pattern, replace } of RULES) {
    if (!gate.test(out)) continue;
    pattern.lastIndex = 0;
    out = out.replace(pattern, replace as (match: string, ...groups: unknown[]) => string);
  }
  if (out.includes('-----END ')) out = danglingPem(out);
  return keyValues(out);
}

/** Whether a value holds anything RULES replace. */
export function looksSecret(value: string): boolean {
  return redactText(value) !== value;
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
 * Any other object (a list's items too): without last-applied-configuration and managedFields; every non-empty
 * string under a credential's name (a key such as `password`, `DB_PASSWORD`, `etcdPassword`, `k8sAPIToken` or
 * `tls.key`, or an env entry's name, in any `env` list) and every string that looks like a credential replaced
 * whole. Env values taken from Secrets are references and stay. A Secret met here (inside a List) is cut to its
 * summary.
 */
export function redactObject<T>(value: T): T {
  return walk(value as Json, '') as T;
}

/** `parent`: the key the value is under ('' at the top, an array's for its items). */
function walk(value: Json, parent: string): Json {
  if (typeof value === 'string') return looksSecret(value) ? redacted(value) : value;
  if (Array.isArray(value)) return value.map((item) => walk(item, parent));
  if (value === null || typeof value !== 'object') return value;
  // Items of a list carry no kind: a Secret is also told by its shape (metadata, a type, and data or stringData).
  // A summary already made (it has `keys`) is kept as it is, and so is a reference to a Secret (`kind: Secret`
  // beside a name, without metadata).
  const object = typeof value.metadata === 'object' && value.metadata !== null;
  const secret = object && (value.kind === 'Secret' ? !Array.isArray(value.keys) : typeof value.type === 'string' && ('data' in value || 'stringData' in value));
  if (secret) return secretSummary(value as never) as Json;
  const out: { [key: string]: Json } = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'managedFields' && parent === 'metadata') continue;
    if (key === 'annotations' && parent === 'metadata' && child && typeof child === 'object' && !Array.isArray(child)) {
      const { [LAST_APPLIED]: _dropped, ...rest } = child;
      out[key] = walk(rest, key);
    } else if (key === 'env' && Array.isArray(child)) {
      out[key] = child.map(envEntry);
    } else if ((typeof child === 'string' || (Array.isArray(child) && child.every((c) => typeof c === 'string'))) && credentialName(key)) {
      out[key] = typeof child === 'string' ? hide(child) : (child as string[]).map(hide);
    } else {
      out[key] = walk(child, key);
    }
  }
  return out;
}

function hide(value: string): string {
  return value === '' ? value : redacted(value);
}

function envEntry(entry: Json): Json {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return walk(entry, 'env');
  const name = typeof entry.name === 'string' ? entry.name : '';
  if (typeof entry.value === 'string' && credentialEnv(name)) return { ...walk({ ...entry, value: null }, 'env') as object, value: hide(entry.value) };
  return walk(entry, 'env');
}
