// Label and field selectors as kube-apiserver v1.31–v1.34 parses and applies them.
//
// Ported from k8s.io/apimachinery v0.34 (pkg/labels/selector.go, pkg/fields/selector.go,
// pkg/apis/meta/v1/helpers.go, pkg/util/validation) and from the field label conversion
// functions and GetAttrs/ToSelectableFields of the built-in registries in k8s.io/kubernetes.
// Error texts are the ones the apiserver puts, unwrapped, into its 400 BadRequest Status.

import type { KubeObject } from './types.ts';

/** A selector the apiserver would reject with 400 BadRequest; `message` is the Status message. */
export class SelectorError extends Error {
  override name = 'SelectorError';
}

/** A record lookup that ignores inherited members such as `constructor`. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

// ---------------------------------------------------------------------------
// Go-compatible formatting helpers

/** strconv.Quote, as `%q` prints a string (printable non-ASCII is kept as is). */
export function goQuote(s: string): string {
  const named: Record<string, string> = {
    '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
  };
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (named[ch] !== undefined) out += named[ch];
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** field.Invalid(path, value, detail).Error() as apimachinery v0.34 prints it. */
function invalidField(path: string, value: unknown, detail: string): string {
  const shown = typeof value === 'string' ? goQuote(value) : JSON.stringify(value ?? null);
  return `${path}: Invalid value: ${shown}: ${detail}`;
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several as "[a, b]". */
function aggregate(messages: string[]): string | undefined {
  const unique = [...new Set(messages)];
  if (unique.length === 0) return undefined;
  if (unique.length === 1) return unique[0];
  return `[${unique.join(', ')}]`;
}

// ---------------------------------------------------------------------------
// pkg/util/validation: label keys and values

const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedNameErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

const qualifiedNameRegexp = new RegExp(`^${qualifiedNameFmt}$`);
const labelValueRegexp = new RegExp(`^${labelValueFmt}$`);
const dns1123SubdomainRegexp = new RegExp(`^${dns1123SubdomainFmt}$`);

// Go measures strings in bytes.
const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  // The doubled space before "or" is in the Go original.
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

const maxLenError = (n: number): string => `must be no more than ${n} characters`;

function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLenError(253));
  if (!dns1123SubdomainRegexp.test(value)) errs.push(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...isDNS1123Subdomain(prefix).map((m) => 'prefix part ' + m));
  } else {
    return [
      'a qualified name ' + regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc') +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLength(name) > 63) errs.push('name part ' + maxLenError(63));
  if (!qualifiedNameRegexp.test(name)) {
    errs.push('name part ' + regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc'));
  }
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLenError(63));
  if (!labelValueRegexp.test(value)) errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

function validateLabelKey(key: string, path: string): string | undefined {
  const errs = isQualifiedName(key);
  return errs.length ? invalidField(path, key, errs.join('; ')) : undefined;
}

function validateLabelValue(key: string, value: string, path: string): string | undefined {
  const errs = isValidLabelValue(value);
  return errs.length ? invalidField(`${path}[${key}]`, value, errs.join('; ')) : undefined;
}

// ---------------------------------------------------------------------------
// Label selectors (pkg/labels)

/** selection.Operator values. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** As given (apimachinery keeps them unsorted; String() sorts on output). */
  values: string[];
}

export interface LabelSelector {
  /** ANDed; sorted by key as labels.Parse and Selector.Add leave them. */
  requirements: LabelRequirement[];
  /** labels.Nothing(): what a nil metav1.LabelSelector converts to. */
  nothing?: boolean;
}

const binaryOperators: LabelOperator[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const int64Regexp = /^[+-]?[0-9]+$/;

/** strconv.ParseInt(s, 10, 64); undefined where Go returns an error. */
function parseInt64(s: string): bigint | undefined {
  if (!int64Regexp.test(s)) return undefined;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

/** labels.NewRequirement with a nil field path; returns the aggregated error text, if any. */
function requirementError(key: string, op: LabelOperator, values: string[]): string | undefined {
  const errs: string[] = [];
  const keyErr = validateLabelKey(key, 'key');
  if (keyErr) errs.push(keyErr);
  switch (op) {
    case 'in':
    case 'notin':
      // Go's append([]string(nil), none...) stays nil, which prints as null.
      if (values.length === 0) errs.push(invalidField('values', null, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalidField('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalidField('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalidField('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(invalidField(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const e = validateLabelValue(key, v, `values[${i}]`);
    if (e) errs.push(e);
  });
  return aggregate(errs);
}

/** Requirement.Matches. */
function requirementMatches(r: LabelRequirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] ?? '' : '';
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const actual = parseInt64(value);
      const limit = parseInt64(r.values[0] ?? '');
      if (actual === undefined || limit === undefined) return false;
      return r.operator === 'gt' ? actual > limit : actual < limit;
    }
  }
}

/** True when every requirement matches; labels.Nothing() matches nothing. */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  if (selector.nothing) return false;
  return selector.requirements.every((r) => requirementMatches(r, labels));
}

/** Go's sort.Strings order (byte-wise for ASCII, which label values are). */
const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Requirement.String(). */
function requirementString(r: LabelRequirement): string {
  const prefix = r.operator === '!' ? '!' : '';
  if (r.operator === 'exists' || r.operator === '!') return prefix + r.key;
  const ops: Record<string, string> = { '=': '=', '==': '==', '!=': '!=', in: ' in ', notin: ' notin ', gt: '>', lt: '<' };
  const values = r.values.length === 1 ? (r.values[0] ?? '') : [...r.values].sort(byString).join(',');
  const set = r.operator === 'in' || r.operator === 'notin';
  return r.key + (ops[r.operator] ?? '') + (set ? `(${values})` : values);
}

/** A stable sort by key, as internalSelector.Add and labels.Parse order requirements. */
function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return [...reqs].sort((a, b) => byString(a.key, b.key));
}

// --- lexer (byte-for-byte the apimachinery one; in/notin are keywords only as operators)

type Token =
  | 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'identifier' | 'in' | '<' | '!=' | 'notin' | '(';

const string2token: Record<string, Token> = {
  ')': ')', ',': ',', '!': '!', '==': '==', '=': '=', '>': '>', in: 'in', '<': '<', '!=': '!=', notin: 'notin', '(': '(',
};

const isWhitespace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
const isSpecialSymbol = (ch: string): boolean => '=!(),><'.includes(ch) && ch !== '';

interface ScannedItem {
  tok: Token;
  literal: string;
}

function lex(s: string): ScannedItem[] {
  let pos = 0;
  // Go reads bytes and uses 0 as the end marker, so a NUL in the input also ends the token stream.
  const read = (): string => (pos < s.length ? s[pos++] ?? '\0' : '\0');
  const unread = (): void => {
    pos--;
  };
  const items: ScannedItem[] = [];
  for (;;) {
    let ch = read();
    while (isWhitespace(ch)) ch = read();
    if (ch === '\0') {
      items.push({ tok: 'eos', literal: '' });
      return items;
    }
    unread();
    items.push(isSpecialSymbol(ch) ? scanSpecialSymbol(read, unread) : scanIdOrKeyword(read, unread));
  }
}

function scanIdOrKeyword(read: () => string, unread: () => void): ScannedItem {
  let buffer = '';
  for (;;) {
    const ch = read();
    if (ch === '\0') break;
    if (isSpecialSymbol(ch) || isWhitespace(ch)) {
      unread();
      break;
    }
    buffer += ch;
  }
  const keyword = own(string2token, buffer);
  return keyword ? { tok: keyword, literal: buffer } : { tok: 'identifier', literal: buffer };
}

function scanSpecialSymbol(read: () => string, unread: () => void): ScannedItem {
  let buffer = '';
  let last: ScannedItem | undefined;
  for (;;) {
    const ch = read();
    if (ch === '\0') break;
    if (!isSpecialSymbol(ch)) {
      unread();
      break;
    }
    buffer += ch;
    const tok = own(string2token, buffer);
    if (tok) {
      last = { tok, literal: buffer };
    } else if (last) {
      unread();
      break;
    }
  }
  return last ?? { tok: 'error', literal: `error expected: keyword found '${buffer}'` };
}

// --- parser

type Context = 'keyAndOperator' | 'values';

class LabelParser {
  private position = 0;
  private readonly items: ScannedItem[];

  constructor(text: string) {
    this.items = lex(text);
  }

  private peek(context: Context, consume: boolean): ScannedItem {
    const item = this.items[this.position] ?? { tok: 'eos', literal: '' };
    if (consume) this.position++;
    // In a value position "in" and "notin" are plain identifiers.
    if (context === 'values' && (item.tok === 'in' || item.tok === 'notin')) return { tok: 'identifier', literal: item.literal };
    return item;
  }

  private lookahead(context: Context): ScannedItem {
    return this.peek(context, false);
  }

  private consume(context: Context): ScannedItem {
    return this.peek(context, true);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const { tok, literal } = this.lookahead('values');
      if (tok === 'identifier' || tok === '!') {
        requirements.push(this.parseRequirementOrThrow());
        const next = this.consume('values');
        if (next.tok === 'eos') return requirements;
        if (next.tok !== ',') throw new SelectorError(`found '${next.literal}', expected: ',' or 'end of string'`);
        const after = this.lookahead('values');
        if (after.tok !== 'identifier' && after.tok !== '!') {
          throw new SelectorError(`found '${after.literal}', expected: identifier after ','`);
        }
      } else if (tok === 'eos') {
        return requirements;
      } else {
        throw new SelectorError(`found '${literal}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirementOrThrow(): LabelRequirement {
    try {
      return this.parseRequirement();
    } catch (e) {
      throw new SelectorError(`unable to parse requirement: ${(e as Error).message}`);
    }
  }

  private parseRequirement(): LabelRequirement {
    const { key, operator } = this.parseKeyAndInferOperator();
    if (operator === 'exists' || operator === '!') return newRequirement(key, operator, []);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    // sets.String.List() hands NewRequirement the values sorted and de-duplicated.
    return newRequirement(key, op, [...values].sort(byString));
  }

  private parseKeyAndInferOperator(): { key: string; operator: LabelOperator | undefined } {
    let operator: LabelOperator | undefined;
    let item = this.consume('values');
    if (item.tok === '!') {
      operator = '!';
      item = this.consume('values');
    }
    if (item.tok !== 'identifier') throw new Error(`found '${item.literal}', expected: identifier`);
    // A nil *field.Path prints as "<nil>".
    const keyErr = validateLabelKey(item.literal, '<nil>');
    if (keyErr) throw new Error(keyErr);
    const next = this.lookahead('values').tok;
    if ((next === 'eos' || next === ',') && operator !== '!') operator = 'exists';
    return { key: item.literal, operator };
  }

  private parseOperator(): LabelOperator {
    const { tok, literal } = this.consume('keyAndOperator');
    const ops: Partial<Record<Token, LabelOperator>> = { in: 'in', '=': '=', '==': '==', '>': 'gt', '<': 'lt', notin: 'notin', '!=': '!=' };
    const op = ops[tok];
    if (!op) throw new Error(`found '${literal}', expected: ${binaryOperators.join(', ')}`);
    return op;
  }

  private parseValues(): Set<string> {
    const open = this.consume('values');
    // The missing comma before "expected" is in the Go original.
    if (open.tok !== '(') throw new Error(`found '${open.literal}' expected: '('`);
    const { tok, literal } = this.lookahead('values');
    if (tok === 'identifier' || tok === ',') {
      const s = this.parseIdentifiersList();
      // Go reports the literal it looked at before the list, not the offending one.
      if (this.consume('values').tok !== ')') throw new Error(`found '${literal}', expected: ')'`);
      return s;
    }
    if (tok === ')') {
      this.consume('values');
      return new Set(['']);
    }
    throw new Error(`found '${literal}', expected: ',', ')' or identifier`);
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, literal } = this.consume('values');
      if (tok === 'identifier') {
        s.add(literal);
        const next = this.lookahead('values');
        if (next.tok === ',') continue;
        if (next.tok === ')') return s;
        throw new Error(`found '${next.literal}', expected: ',' or ')'`);
      } else if (tok === ',') {
        // Empty values: "(,", ",)" and ",," each stand for "".
        if (s.size === 0) s.add('');
        const next = this.lookahead('values').tok;
        if (next === ')') {
          s.add('');
          return s;
        }
        if (next === ',') s.add('');
      } else {
        throw new Error(`found '${literal}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead('values').tok;
    if (next === 'eos' || next === ',') return new Set(['']);
    const { tok, literal } = this.consume('values');
    if (tok === 'identifier') return new Set([literal]);
    throw new Error(`found '${literal}', expected: identifier`);
  }
}

function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const err = requirementError(key, operator, values);
  if (err) throw new Error(err);
  return { key, operator, values };
}

/**
 * labels.Parse: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`,
 * comma-separated and ANDed. Throws SelectorError with the apiserver's message.
 */
export function parseLabelSelector(text: string): LabelSelector {
  return { requirements: sortByKey(new LabelParser(text).parse()) };
}

// --- metav1.LabelSelector

export interface LabelSelectorRequirementObject {
  key: string;
  operator: string;
  values?: string[] | null;
}

/** A metav1.LabelSelector as it appears in Deployments, DaemonSets, ReplicaSets, PDBs… */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirementObject[] | null;
}

const metaOperators: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector: null/undefined selects nothing, an empty selector
 * everything. Throws SelectorError on an invalid selector.
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) return { requirements: [], nothing: true };
  const matchLabels = sel.matchLabels ?? {};
  const expressions = sel.matchExpressions ?? [];
  const requirements: LabelRequirement[] = [];
  // Go ranges over the map in random order; sorted keys make the first error deterministic.
  for (const key of Object.keys(matchLabels).sort(byString)) {
    requirements.push(newRequirementOrThrow(key, '=', [matchLabels[key] ?? '']));
  }
  for (const expr of expressions) {
    const op = own(metaOperators, String(expr.operator));
    if (!op) throw new SelectorError(`${goQuote(String(expr.operator))} is not a valid label selector operator`);
    requirements.push(newRequirementOrThrow(expr.key, op, [...(expr.values ?? [])]));
  }
  return { requirements: sortByKey(requirements) };
}

function newRequirementOrThrow(key: string, op: LabelOperator, values: string[]): LabelRequirement {
  try {
    return newRequirement(key, op, values);
  } catch (e) {
    throw new SelectorError((e as Error).message);
  }
}

/**
 * For a metav1.LabelSelector object: metav1.FormatLabelSelector, i.e. `<none>` when it
 * selects everything or nothing, `<error>` when invalid, else e.g. `k8s-app=calico-node`
 * or `k in (a,b),!x`. For a parsed LabelSelector: Selector.String() ("" when empty).
 */
export function labelSelectorToString(sel: LabelSelector | LabelSelectorObject | null | undefined): string {
  if (sel && 'requirements' in sel && Array.isArray(sel.requirements)) {
    return (sel as LabelSelector).requirements.map(requirementString).join(',');
  }
  let parsed: LabelSelector;
  try {
    parsed = labelSelectorFromObject(sel as LabelSelectorObject | null | undefined);
  } catch {
    return '<error>';
  }
  const s = parsed.requirements.map(requirementString).join(',');
  return s.length === 0 ? '<none>' : s;
}

// ---------------------------------------------------------------------------
// Field selectors (pkg/fields)

export interface FieldRequirement {
  field: string;
  /** `==` parses to `=` (both are hasTerm). */
  operator: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  /** ANDed, in the order the parser leaves them (terms sorted as strings). */
  requirements: FieldRequirement[];
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; bare `,` and `=` are errors. */
function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      // Go prints the rune with %v, i.e. as its number.
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** fields.EscapeValue. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => '\\' + c);
}

/** Splits on commas that are not escaped with a backslash. */
function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** The first operator found scanning left to right; at one position `!=` beats `==` beats `=`. */
function splitTerm(term: string): { lhs: string; op: string; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** fields.ParseSelector. Throws SelectorError with the apiserver's message. */
export function parseFieldSelector(text: string): FieldSelector {
  const parts = splitTerms(text).sort(byString);
  const requirements: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const term = splitTerm(part);
    if (!term) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    const value = unescapeValue(term.rhs);
    // ParseSelector ends in Transform, which drops terms whose field and value are both empty.
    if (term.lhs === '' && value === '') continue;
    requirements.push({ field: term.lhs, operator: term.op === '!=' ? '!=' : '=', value });
  }
  return { requirements };
}

/** A missing field reads as "" (fields.Set.Get). */
export function matchesFields(selector: FieldSelector, fields: Record<string, string>): boolean {
  return selector.requirements.every((r) => {
    const actual = Object.prototype.hasOwnProperty.call(fields, r.field) ? fields[r.field] ?? '' : '';
    return r.operator === '=' ? actual === r.value : actual !== r.value;
  });
}

/** Selector.String(): `f=v,g!=w` with values escaped. */
export function fieldSelectorToString(selector: FieldSelector): string {
  return selector.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
}

/** RequiresExactMatch: the value an `=` term demands of `field`, if any. */
export function fieldSelectorExactMatch(selector: FieldSelector, field: string): string | undefined {
  return selector.requirements.find((r) => r.operator === '=' && r.field === field)?.value;
}

// ---------------------------------------------------------------------------
// Which fields each resource supports (field label conversion) and what they read

/** For custom resources: the CRD's scope and spec.versions[].selectableFields[].jsonPath. */
export interface CustomResourceFields {
  namespaced: boolean;
  /** JSONPaths such as `.spec.color`. */
  selectableFields?: string[];
}

interface FieldLabelRules {
  /** Accepted labels, including metadata.* where the conversion accepts them. */
  labels: string[];
  /** Deprecated labels rewritten to their canonical name. */
  aliases?: Record<string, string>;
  reject: (label: string) => string;
}

const notSupported = (label: string): string => `field label not supported: ${label}`;

// pkg/apis/<group>/<version>/conversion.go AddFieldLabelConversionFunc registrations.
// Note: apps/v1 registers none, so replicasets.apps takes only metadata.* despite its
// GetAttrs exposing status.replicas (kubernetes/kubernetes#135136, still so in v1.34).
const fieldLabelRules: Record<string, FieldLabelRules> = {
  pods: {
    labels: [
      'metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
      'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs',
      'status.nominatedNodeName',
    ],
    aliases: { 'spec.host': 'spec.nodeName' },
    reject: notSupported,
  },
  nodes: { labels: ['metadata.name', 'spec.unschedulable'], reject: notSupported },
  replicationcontrollers: { labels: ['metadata.name', 'metadata.namespace', 'status.replicas'], reject: notSupported },
  events: {
    labels: [
      'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
      'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason',
      'reportingComponent', 'source', 'type', 'metadata.namespace', 'metadata.name',
    ],
    reject: notSupported,
  },
  namespaces: { labels: ['status.phase', 'metadata.name'], reject: notSupported },
  secrets: { labels: ['type', 'metadata.namespace', 'metadata.name'], reject: notSupported },
  services: { labels: ['metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'], reject: notSupported },
  'jobs.batch': {
    labels: ['metadata.name', 'metadata.namespace', 'status.successful'],
    reject: (label) => `field label ${goQuote(label)} not supported for Job`,
  },
  'certificatesigningrequests.certificates.k8s.io': { labels: ['metadata.name', 'spec.signerName'], reject: notSupported },
};

/** runtime.DefaultMetaV1FieldSelectorConversion, used by every kind without its own. */
const defaultRules: FieldLabelRules = {
  labels: ['metadata.name', 'metadata.namespace'],
  reject: (label) => `${goQuote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`,
};

function customResourceRules(crd: CustomResourceFields): FieldLabelRules {
  const labels = ['metadata.name'];
  if (crd.namespaced) labels.push('metadata.namespace');
  for (const path of crd.selectableFields ?? []) labels.push(path.replace(/^\./, ''));
  return { labels, reject: notSupported };
}

function rulesFor(resource: string, crd?: CustomResourceFields): FieldLabelRules {
  if (crd) return customResourceRules(crd);
  return own(fieldLabelRules, resource) ?? defaultRules;
}

/** The labels a field selector on `resource` may use (custom resources: pass their CRD facts). */
export function supportedFieldLabels(resource: string, crd?: CustomResourceFields): string[] {
  const rules = rulesFor(resource, crd);
  return [...rules.labels, ...Object.keys(rules.aliases ?? {})];
}

/**
 * The field label conversion kube-apiserver runs on a list/watch/deletecollection field
 * selector: rewrites deprecated labels and throws SelectorError (answer 400 BadRequest
 * with its message) on the first unsupported one.
 */
export function convertFieldSelector(resource: string, selector: FieldSelector, crd?: CustomResourceFields): FieldSelector {
  const rules = rulesFor(resource, crd);
  const requirements = selector.requirements.map((r) => {
    const alias = rules.aliases ? own(rules.aliases, r.field) : undefined;
    if (alias) return { ...r, field: alias };
    if (!rules.labels.includes(r.field)) throw new SelectorError(rules.reject(r.field));
    return r;
  });
  return { requirements };
}

// Cluster-scoped built-ins: their GetAttrs carry no metadata.namespace.
const clusterScoped = new Set([
  'nodes', 'namespaces', 'persistentvolumes', 'componentstatuses',
  'clusterroles.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io',
  'customresourcedefinitions.apiextensions.k8s.io', 'apiservices.apiregistration.k8s.io',
  'storageclasses.storage.k8s.io', 'csidrivers.storage.k8s.io', 'csinodes.storage.k8s.io',
  'volumeattachments.storage.k8s.io', 'volumeattributesclasses.storage.k8s.io',
  'priorityclasses.scheduling.k8s.io', 'runtimeclasses.node.k8s.io', 'ingressclasses.networking.k8s.io',
  'ipaddresses.networking.k8s.io', 'servicecidrs.networking.k8s.io',
  'validatingwebhookconfigurations.admissionregistration.k8s.io',
  'mutatingwebhookconfigurations.admissionregistration.k8s.io',
  'validatingadmissionpolicies.admissionregistration.k8s.io',
  'validatingadmissionpolicybindings.admissionregistration.k8s.io',
  'mutatingadmissionpolicies.admissionregistration.k8s.io',
  'mutatingadmissionpolicybindings.admissionregistration.k8s.io',
  'certificatesigningrequests.certificates.k8s.io', 'clustertrustbundles.certificates.k8s.io',
  'flowschemas.flowcontrol.apiserver.k8s.io', 'prioritylevelconfigurations.flowcontrol.apiserver.k8s.io',
  'deviceclasses.resource.k8s.io', 'resourceslices.resource.k8s.io',
  'storageversions.internal.apiserver.k8s.io', 'storageversionmigrations.storagemigration.k8s.io',
]);

type JsonMap = Record<string, unknown>;

function at(object: unknown, ...path: string[]): unknown {
  let cur = object;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = own(cur as JsonMap, key);
  }
  return cur;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const int = (v: unknown): string => (typeof v === 'number' ? String(Math.trunc(v)) : '0');

/** fmt.Sprint of a JSON value, as CRD selectable fields are rendered. */
function sprint(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

// Each registry's ToSelectableFields/GetAttrs, read off the v1 JSON form.
const specificFields: Record<string, (o: KubeObject) => Record<string, string>> = {
  pods: (o) => {
    const podIPs = at(o, 'status', 'podIPs');
    const firstIP = Array.isArray(podIPs) ? str(at(podIPs[0], 'ip')) : '';
    return {
      'spec.nodeName': str(at(o, 'spec', 'nodeName')),
      'spec.restartPolicy': str(at(o, 'spec', 'restartPolicy')),
      'spec.schedulerName': str(at(o, 'spec', 'schedulerName')),
      // v1→internal conversion falls back to the deprecated serviceAccount field.
      'spec.serviceAccountName': str(at(o, 'spec', 'serviceAccountName')) || str(at(o, 'spec', 'serviceAccount')),
      'spec.hostNetwork': String(at(o, 'spec', 'hostNetwork') === true),
      'status.phase': str(at(o, 'status', 'phase')),
      // The internal type only has podIPs; a v1 status.podIP alone converts into podIPs[0].
      'status.podIP': firstIP || str(at(o, 'status', 'podIP')),
      'status.nominatedNodeName': str(at(o, 'status', 'nominatedNodeName')),
      // status.podIPs is accepted by the conversion but absent here, so it reads as "".
    };
  },
  nodes: (o) => ({ 'spec.unschedulable': String(at(o, 'spec', 'unschedulable') === true) }),
  namespaces: (o) => ({ 'status.phase': str(at(o, 'status', 'phase')) }),
  secrets: (o) => ({ type: str(at(o, 'type')) }),
  services: (o) => ({ 'spec.clusterIP': str(at(o, 'spec', 'clusterIP')), 'spec.type': str(at(o, 'spec', 'type')) }),
  replicationcontrollers: (o) => ({ 'status.replicas': int(at(o, 'status', 'replicas')) }),
  'replicasets.apps': (o) => ({ 'status.replicas': int(at(o, 'status', 'replicas')) }),
  'jobs.batch': (o) => ({ 'status.successful': int(at(o, 'status', 'succeeded')) }),
  'certificatesigningrequests.certificates.k8s.io': (o) => ({ 'spec.signerName': str(at(o, 'spec', 'signerName')) }),
  events: eventFields,
  'events.events.k8s.io': eventFields,
};

/** Core and events.k8s.io Events share one storage and one GetAttrs (core field names). */
function eventFields(o: KubeObject): Record<string, string> {
  const v1 = o.apiVersion === 'events.k8s.io/v1';
  const ref = v1 ? at(o, 'regarding') : at(o, 'involvedObject');
  const reportingController = str(at(o, v1 ? 'reportingController' : 'reportingComponent'));
  const sourceComponent = str(v1 ? at(o, 'deprecatedSource', 'component') : at(o, 'source', 'component'));
  return {
    'involvedObject.kind': str(at(ref, 'kind')),
    'involvedObject.namespace': str(at(ref, 'namespace')),
    'involvedObject.name': str(at(ref, 'name')),
    'involvedObject.uid': str(at(ref, 'uid')),
    'involvedObject.apiVersion': str(at(ref, 'apiVersion')),
    'involvedObject.resourceVersion': str(at(ref, 'resourceVersion')),
    'involvedObject.fieldPath': str(at(ref, 'fieldPath')),
    reason: str(at(o, 'reason')),
    reportingComponent: reportingController,
    source: sourceComponent || reportingController,
    type: str(at(o, 'type')),
  };
}

/**
 * The fields.Set kube-apiserver filters `object` with (its registry's GetAttrs):
 * metadata.name, metadata.namespace for namespaced resources, and the kind's own fields.
 * Resource keys: core plural (`pods`), else `<plural>.<group>` (`deployments.apps`).
 * Custom resources: pass `crd` to get their selectableFields.
 */
export function selectableFields(resource: string, object: KubeObject, crd?: CustomResourceFields): Record<string, string> {
  const namespaced = crd ? crd.namespaced : !clusterScoped.has(resource);
  const meta: Record<string, string> = { 'metadata.name': object.metadata?.name ?? '' };
  if (namespaced) meta['metadata.namespace'] = object.metadata?.namespace ?? '';
  if (crd) {
    const custom: Record<string, string> = {};
    for (const path of crd.selectableFields ?? []) {
      const name = path.replace(/^\./, '');
      custom[name] = sprint(at(object, ...name.split('.')));
    }
    return { ...meta, ...custom };
  }
  const specific = own(specificFields, resource);
  return { ...(specific ? specific(object) : {}), ...meta };
}
