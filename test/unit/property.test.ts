// Property-based tests (fast-check) of the two parsers init trusts with user
// input. CIDR parsing and the overlap math are checked against BigInt range
// arithmetic, ipaddr.js and brute-force enumeration, in both families; the
// custom-resources.yaml rewrite is checked on every release's upstream file
// for any pool init can build: only the ipPools values change, they read
// back as given, rewriting again changes nothing, and the whole derivation
// (pools and mirror settings) undoes to upstream's exact bytes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { parseAllDocuments } from 'yaml';
import { containsAddress, containsCidr, overlaps, parseCidr, parseCidrList, type Cidr } from '../../src/calico/cidr.ts';
import { deriveCustomResources, rewriteCustomResources, upstreamCustomResources, type PoolSettings } from '../../src/calico/custom-resources.ts';
import { parseImageSettings } from '../../src/calico/images.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { ENCAPSULATIONS } from '../../src/commands/init.ts';
import { SHARED_CALICO } from '../helpers.ts';

type Family = 4 | 6;
const BITS = { 4: 32, 6: 128 } as const;
const BYTES = { 4: 4, 6: 16 } as const;

// --- Reference arithmetic, independent of src: addresses as BigInts. ---

const toBig = (bytes: number[]): bigint => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
const fromBig = (n: bigint, length: number): number[] => Array.from({ length }, (_, i) => Number((n >> BigInt(8 * (length - 1 - i))) & 0xffn));
const hostMask = (family: Family, prefix: number): bigint => (1n << BigInt(BITS[family] - prefix)) - 1n;
const format = (family: Family, n: bigint): string => ipaddr.fromByteArray(fromBig(n, BYTES[family])).toString();

interface Net {
  family: Family;
  prefix: number;
  /** First and last address of the network. */
  start: bigint;
  end: bigint;
  text: string;
}

function net(family: Family, address: bigint, prefix: number): Net {
  const start = address & ~hostMask(family, prefix);
  return { family, prefix, start, end: start | hostMask(family, prefix), text: `${format(family, start)}/${prefix}` };
}

const cidrOf = (n: Net): Cidr => parseCidr(n.text);

// --- Generators. ---

// Bytes biased to zero, so IPv6 addresses have `::` runs and IPv4 ones have .0 octets.
const byte = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 }));
const addressOf = (family: Family) => fc.array(byte, { minLength: BYTES[family], maxLength: BYTES[family] }).map(toBig);
const familyArb = fc.constantFrom<Family>(4, 6);
const netOf = (family: Family) => fc.tuple(addressOf(family), fc.integer({ min: 0, max: BITS[family] })).map(([a, p]) => net(family, a, p));
const anyNet = familyArb.chain(netOf);

/** Two networks of one family near each other: nested, siblings or apart, as often as not. */
const relatedPair = familyArb.chain((family) =>
  fc.tuple(addressOf(family), fc.integer({ min: 0, max: BITS[family] }), fc.integer({ min: 0, max: BITS[family] }), fc.option(fc.integer({ min: 0, max: BITS[family] - 1 })))
    .map(([address, pa, pb, flip]) => [net(family, address, pa), net(family, flip === null ? address : address ^ (1n << BigInt(flip)), pb)] as const));
const anyPair = fc.oneof(relatedPair, fc.tuple(anyNet, anyNet));

/** Strings near the CIDR alphabet reach deeper into the parser than arbitrary text does. */
const cidrish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFx.:/%, \t'.split('')), maxLength: 48 });
const mutated = fc.tuple(anyNet, fc.nat(), fc.constantFrom('', '0', ':', '.', '/', ' ', '-', '%eth0', '::', '1')).map(([n, at, insert]) => {
  const i = at % (n.text.length + 1);
  return n.text.slice(0, i) + insert + n.text.slice(i + (insert === '' ? 1 : 0));
});
// Any code point, lone surrogates included (cheaper to build than fc.string({ unit: 'binary' })).
const codePoints = fc.string({ unit: fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) });
const anyString = fc.oneof(fc.string(), codePoints, cidrish, mutated);

const usageNaming = (value: string) => (e: unknown): boolean => {
  assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
  assert.equal(e.exitCode, 2);
  if (value.trim() === '') assert.match(e.message, /^--pod-cidr is empty/);
  else assert.ok(e.message.includes(`"${value}"`), `the message names the value: ${e.message}`);
  return true;
};

// --- CIDR parsing. ---

test('a network parses to its canonical form, family and prefix, however it is spelled', () => {
  fc.assert(fc.property(anyNet, fc.nat(), fc.constantFrom('', ' ', '\t', '  '), (n, pick, pad) => {
    const address = ipaddr.fromByteArray(fromBig(n.start, BYTES[n.family]));
    const full = address.toNormalizedString();
    const spellings = n.family === 4
      ? [address.toString()]
      : [address.toString(), full, full.split(':').map((group) => group.padStart(4, '0')).join(':'), address.toString().toUpperCase()];
    const value = `${pad}${spellings[pick % spellings.length]}/${n.prefix}${pad}`;
    const cidr = parseCidr(value);
    assert.deepEqual(cidr, { family: n.family, address: format(n.family, n.start), prefix: n.prefix, text: n.text, base: n.start });
    assert.equal(toBig(ipaddr.parse(cidr.address).toByteArray()), n.start);
    assert.deepEqual(parseCidr(cidr.text), cidr, 'the canonical text parses back to itself');
  }), { numRuns: 300 });
});

test('host bits set: refused with a usage error naming the value and the network meant', () => {
  const withHostBits = familyArb.chain((family) => fc.integer({ min: 0, max: BITS[family] - 1 }).chain((prefix) =>
    fc.tuple(addressOf(family), fc.integer({ min: prefix, max: BITS[family] - 1 })).map(([address, bit]) => ({ family, prefix, address: address | (1n << BigInt(BITS[family] - 1 - bit)) }))));
  fc.assert(fc.property(withHostBits, ({ family, prefix, address }) => {
    const value = `${format(family, address)}/${prefix}`;
    const meant = net(family, address, prefix).text;
    assert.throws(() => parseCidr(value), (e: unknown) => usageNaming(value)(e) && (e as Error).message === `invalid --pod-cidr "${value}": host bits are set (did you mean ${meant}?)`);
  }), { numRuns: 200 });
});

test('a prefix longer than the family allows (or not a number) is refused, naming the value and the range', () => {
  const tooLong = familyArb.chain((family) => fc.tuple(fc.constant(family), addressOf(family), fc.oneof(
    fc.integer({ min: BITS[family] + 1, max: 100_000 }).map(String),
    fc.stringMatching(/^[1-9]\d{20,40}$/),
    fc.constantFrom('-1', '+8', '8.0', '0x10', '1e1', '', ' 8', '٣'),
  )));
  fc.assert(fc.property(tooLong, ([family, address, prefix]) => {
    const value = `${format(family, address)}/${prefix}`;
    assert.throws(() => parseCidr(value), (e: unknown) => usageNaming(value)(e) && (e as Error).message.endsWith(`the prefix length must be 0 to ${BITS[family]} for an IPv${family} network`));
  }), { numRuns: 200 });
});

test('an IPv4 address is read as four decimal octets: octal, hex and short forms are refused, never reinterpreted', () => {
  // ipaddr.js alone reads 010.0.0.0 as 8.0.0.0 and 10.97 as 10.0.0.97; Kubernetes and Calico refuse both.
  const spelled = fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.array(fc.constantFrom('dec', 'dec', 'dec', 'zero', 'hex'), { minLength: 4, maxLength: 4 }), fc.constantFrom(4, 4, 4, 3, 2, 1), fc.boolean());
  fc.assert(fc.property(spelled, ([octets, styles, parts, mapped]) => {
    const spell = (o: number, style: string) => (style === 'zero' ? `0${o}` : style === 'hex' ? `0x${o.toString(16)}` : String(o));
    const words = octets.map((o, i) => spell(o, styles[i]!));
    const dotted = [...words.slice(0, parts - 1), parts === 4 ? words[3]! : String(octets.slice(parts - 1).reduce((n, o) => n * 256 + o, 0))].join('.');
    const value = `${mapped ? '::ffff:' : ''}${dotted}/${mapped ? 128 : 32}`;
    const decimal = parts === 4 && styles.every((s) => s === 'dec');
    if (decimal) {
      const expected = mapped ? ipaddr.parse(`::ffff:${octets.join('.')}`).toString() : octets.join('.');
      assert.equal(parseCidr(value).address, expected);
    } else {
      assert.throws(() => parseCidr(value), (e: unknown) => usageNaming(value)(e) && /is not an IP address/.test((e as Error).message));
    }
  }), { numRuns: 300 });
});

test('any string: a network that parses back to itself, or a usage error naming the value — never another error', () => {
  fc.assert(fc.property(anyString, (value) => {
    let cidr: Cidr;
    try {
      cidr = parseCidr(value);
    } catch (e) {
      return usageNaming(value)(e);
    }
    assert.deepEqual(parseCidr(cidr.text), cidr);
    assert.equal(containsCidr(cidr, cidr), true);
    return true;
  }), { numRuns: 1000 });
  fc.assert(fc.property(fc.array(anyString, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(',')), (value) => {
    try {
      parseCidrList(value);
    } catch (e) {
      assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
    }
  }), { numRuns: 300 });
});

test('a list takes at most one network per family, in the order given', () => {
  fc.assert(fc.property(fc.array(anyNet, { minLength: 1, maxLength: 3 }), fc.constantFrom(',', ', ', ' ,'), (nets, comma) => {
    const value = nets.map((n) => n.text).join(comma);
    if (nets.length <= 2 && new Set(nets.map((n) => n.family)).size === nets.length) {
      assert.deepEqual(parseCidrList(value).map((c) => c.text), nets.map((n) => n.text));
    } else {
      assert.throws(() => parseCidrList(value), (e: unknown) => e instanceof UsageError && e.message === `invalid --pod-cidr "${value}": give at most one IPv4 and one IPv6 network`);
    }
  }), { numRuns: 300 });
});

// --- Containment and overlap. ---

test('containment and overlap agree with address-range arithmetic; overlap is symmetric and implied by containment', () => {
  fc.assert(fc.property(anyPair, ([x, y]) => {
    const [a, b] = [cidrOf(x), cidrOf(y)];
    const same = x.family === y.family;
    assert.equal(containsCidr(a, b), same && x.start <= y.start && y.end <= x.end, `${x.text} contains ${y.text}`);
    assert.equal(overlaps(a, b), same && x.start <= y.end && y.start <= x.end, `${x.text} overlaps ${y.text}`);
    assert.equal(overlaps(a, b), overlaps(b, a));
    if (containsCidr(a, b)) assert.ok(overlaps(a, b));
    if (containsCidr(a, b) && containsCidr(b, a)) assert.equal(a.text, b.text);
    assert.ok(containsCidr(a, a) && overlaps(a, a));
  }), { numRuns: 1000 });
});

test('on small IPv4 networks (/24 to /32 inside 10.0.0.0/22) overlap and containment match the enumerated address sets', () => {
  const base = toBig([10, 0, 0, 0]);
  const small = fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 24, max: 32 })).map(([offset, prefix]) => net(4, base + BigInt(offset), prefix));
  const members = (n: Net): Set<number> => {
    const set = new Set<number>();
    for (let a = n.start; a <= n.end; a++) set.add(Number(a - base));
    return set;
  };
  fc.assert(fc.property(small, small, fc.integer({ min: 0, max: 1023 }), (x, y, probe) => {
    const [a, b] = [cidrOf(x), cidrOf(y)];
    const [sa, sb] = [members(x), members(y)];
    assert.equal(overlaps(a, b), [...sa].some((m) => sb.has(m)), `${x.text} overlaps ${y.text}`);
    assert.equal(containsCidr(a, b), [...sb].every((m) => sa.has(m)), `${x.text} contains ${y.text}`);
    assert.equal(containsAddress(a, format(4, base + BigInt(probe))), sa.has(probe));
  }), { numRuns: 500 });
});

test('containsAddress agrees with ipaddr.js match and the address range, and is false for the other family and for non-addresses', () => {
  // Addresses inside, at both edges, just outside, random in either family, or not addresses at all.
  const probe = (n: Net) => fc.oneof(
    fc.bigInt({ min: n.start, max: n.end }).map((a) => format(n.family, a)),
    fc.constantFrom(n.start, n.end, n.start - 1n, n.end + 1n).filter((a) => a >= 0n && a <= hostMask(n.family, 0)).map((a) => format(n.family, a)),
    fc.ipV4(), fc.ipV6(), anyString,
  );
  fc.assert(fc.property(anyNet.chain((n) => fc.tuple(fc.constant(n), probe(n))), ([n, ip]) => {
    const cidr = cidrOf(n);
    const valid = ipaddr.isValid(ip);
    const address = valid ? ipaddr.parse(ip) : undefined;
    const sameFamily = address !== undefined && address.kind() === (n.family === 4 ? 'ipv4' : 'ipv6');
    const expected = sameFamily && address.match(ipaddr.parseCIDR(n.text));
    assert.equal(containsAddress(cidr, ip), expected, `${n.text} contains ${ip}`);
    if (sameFamily) {
      const a = toBig(address.toByteArray());
      assert.equal(expected, n.start <= a && a <= n.end);
    }
  }), { numRuns: 1000 });
});

// --- The custom-resources.yaml rewrite. ---

const releases = fs.readdirSync(SHARED_CALICO).filter((d) => fs.existsSync(path.join(SHARED_CALICO, d, 'custom-resources.yaml'))).sort();
const upstream = new Map(releases.map((r) => [r, fs.readFileSync(path.join(SHARED_CALICO, r, 'custom-resources.yaml'), 'utf8')]));

/** Calico selectors (the projectcalico selector grammar), literals holding any printable text. */
const labelKey = fc.stringMatching(/^([a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?\/)?[a-zA-Z0-9]([a-zA-Z0-9._-]{0,20}[a-zA-Z0-9])?$/);
const literal = fc.oneof(fc.string({ maxLength: 12 }).filter((s) => !s.includes("'")).map((s) => `'${s}'`), fc.string({ maxLength: 12 }).filter((s) => !s.includes('"')).map((s) => `"${s}"`));
const term = fc.oneof(
  fc.constantFrom('all()', 'global()'),
  labelKey.map((k) => `has(${k})`),
  labelKey.map((k) => `!has(${k})`),
  fc.tuple(labelKey, fc.constantFrom('==', '!=', 'starts with', 'ends with', 'contains'), literal).map(([k, op, v]) => `${k} ${op} ${v}`),
  fc.tuple(labelKey, fc.constantFrom('in', 'not in'), fc.array(literal, { maxLength: 3 })).map(([k, op, vs]) => `${k} ${op} {${vs.join(', ')}}`),
);
const selector = fc.array(fc.tuple(term, fc.constantFrom(' && ', ' || ', '&&')), { minLength: 1, maxLength: 3 }).chain((terms) => fc.tuple(fc.constant(terms), fc.boolean(), fc.boolean()))
  .map(([terms, negate, paren]) => {
    const body = terms.map(([t, op], i) => (i ? op : '') + t).join('');
    return paren ? `${negate ? '!' : ''}(${body})` : body;
  });

/** A pool as init's poolFor builds it: block size in range for the family and no larger than the pool; IPv6 without IPIP or NAT. */
const poolOf = (family: Family, nodeSelector: string) => {
  const [min, max] = family === 4 ? [20, 32] : [116, 128];
  return fc.tuple(fc.integer({ min, max }), addressOf(family)).chain(([blockSize, address]) => fc.tuple(
    fc.integer({ min: 0, max: blockSize }).map((prefix) => net(family, address, prefix).text),
    fc.constantFrom(...ENCAPSULATIONS.filter((e) => family === 4 || !e.startsWith('IPIP'))),
    family === 4 ? fc.constantFrom('Enabled', 'Disabled') : fc.constant('Disabled'),
  ).map(([cidr, encapsulation, natOutgoing]): PoolSettings => ({ cidr, blockSize, encapsulation, natOutgoing, nodeSelector })));
};
const poolsArb = selector.chain((s) => fc.constantFrom<Family[]>([4], [6], [4, 6], [6, 4]).chain((families) => fc.tuple(...families.map((f) => poolOf(f, s)))));
const releaseArb = fc.constantFrom(...releases);

type Doc = Record<string, unknown> & { kind?: string; spec?: { calicoNetwork?: { ipPools?: Record<string, unknown>[] } } };
function documents(text: string): Doc[] {
  return parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, [], 'valid YAML');
    return d.toJS() as Doc;
  });
}

/** The upstream file cut around the ipPools list: the lines before it, its lines, the lines after it. */
function cut(text: string): { before: string[]; pool: string[]; after: string[] } {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^\s*ipPools:$/.test(l));
  const indent = (l: string) => /^ */.exec(l)![0].length;
  let end = at + 1;
  while (end < lines.length && lines[end]!.trim() !== '' && (indent(lines[end]!) > indent(lines[at]!) || lines[end]!.trimStart().startsWith('- '))) end++;
  assert.ok(at >= 0 && end > at + 1, 'upstream has an ipPools list');
  return { before: lines.slice(0, at + 1), pool: lines.slice(at + 1, end), after: lines.slice(end) };
}
const keyPart = (line: string) => /^\s*(- )?\w+: /.exec(line)?.[0];

test(`custom-resources rewrite, every release (${releases.join(', ')}): only the ipPools values change and they read back as given`, () => {
  assert.ok(releases.length >= 5, `releases under ${SHARED_CALICO}`);
  fc.assert(fc.property(releaseArb, poolsArb, (release, pools) => {
    const original = upstream.get(release)!;
    const rewritten = rewriteCustomResources(original, pools);

    // Bytes: every line outside the list is untouched; inside, each pool has the upstream pool's lines up to the values.
    const { before, pool, after } = cut(original);
    const lines = rewritten.split('\n');
    assert.deepEqual(lines.slice(0, before.length), before);
    assert.deepEqual(lines.slice(lines.length - after.length), after);
    const list = lines.slice(before.length, lines.length - after.length);
    assert.equal(list.length, pool.length * pools.length, 'one copy of the upstream pool layout per pool');
    list.forEach((line, i) => assert.equal(keyPart(line), keyPart(pool[i % pool.length]!), `line ${i} of the list`));

    // Meaning: the documents equal upstream's except the pools, which are exactly the values given.
    const [docs, originalDocs] = [documents(rewritten), documents(original)];
    const pick = (ds: Doc[]) => ds.find((d) => d.kind === 'Installation')!.spec!.calicoNetwork!;
    const ipPools = pick(docs).ipPools!;
    assert.deepEqual(ipPools.map(({ name: _, ...values }) => values), pools);
    assert.equal(new Set(ipPools.map((p) => p.name)).size, pools.length, 'pool names are distinct');
    assert.ok(ipPools.every((p) => typeof p.name === 'string' && p.name !== ''));
    pick(docs).ipPools = pick(originalDocs).ipPools;
    assert.deepEqual(docs, originalDocs);
  }), { numRuns: 100 });
});

test('custom-resources rewrite is idempotent, and rewriting a rewritten file sets exactly the new pools', () => {
  fc.assert(fc.property(releaseArb, poolsArb, poolsArb, (release, pools, next) => {
    const once = rewriteCustomResources(upstream.get(release)!, pools);
    assert.equal(rewriteCustomResources(once, pools), once, 'same values, same bytes');
    const again = documents(rewriteCustomResources(once, next)).find((d) => d.kind === 'Installation')!.spec!.calicoNetwork!.ipPools!;
    assert.deepEqual(again.map(({ name: _, ...values }) => values), next);
  }), { numRuns: 60 });
});

const mirrorArb = fc.option(fc.record({
  registry: fc.constantFrom('mirror.example.com:5000', 'mirror.example.com/calico-mirror/'),
  imagePath: fc.option(fc.constantFrom('calico', 'mirror/calico', '0'), { nil: undefined }),
  imagePrefix: fc.option(fc.constantFrom('m-', 'true'), { nil: undefined }),
  imagePullSecrets: fc.array(fc.constantFrom('pull', 'null', 'a.b'), { maxLength: 2 }),
}).map((flags) => parseImageSettings(flags)!), { nil: undefined });

test('custom-resources derivation undoes exactly: any pools (quoted selectors, dual-stack) and mirror settings, every release', () => {
  fc.assert(fc.property(releaseArb, poolsArb, mirrorArb, (release, pools, images) => {
    const original = upstream.get(release)!;
    const derived = deriveCustomResources(original, { pools, ...(images ? { images } : {}) });
    assert.equal(upstreamCustomResources(derived), original, 'upstream\'s bytes back');
    assert.equal(deriveCustomResources(upstreamCustomResources(derived), { pools, ...(images ? { images } : {}) }), derived, 'and derived again, the same bytes');
  }), { numRuns: 150 });
});

test('custom-resources derivation: a hand edit does not undo to upstream\'s bytes or does not derive back', () => {
  const original = upstream.get('v3.31.7')!;
  const pools: PoolSettings[] = [{ cidr: '10.97.0.0/16', blockSize: 26, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()' }];
  const derived = deriveCustomResources(original, { pools });
  const edits = [
    derived.replace('cidr: 10.97.0.0/16', 'cidr: 10.98.0.0/16'),
    derived.replace('kind: Whisker\nmetadata:\n  name: default', 'kind: Whisker\nmetadata:\n  name: default\nspec:\n  replicas: 3'),
    derived.replace('spec:\n  # Configures', 'spec:\n  registry: evil.example.com/\n  # Configures'),
    `${derived}# a note\n`,
  ];
  for (const edited of edits) {
    assert.notEqual(edited, derived);
    const back = upstreamCustomResources(edited);
    assert.ok(back !== original || deriveCustomResources(back, { pools }) !== edited, edited);
  }
});
