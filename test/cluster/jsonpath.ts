// The JSONPath subset CRD additionalPrinterColumns use, evaluated the way
// client-go's util/jsonpath does it for kube-apiserver's CRD table convertor
// (parsed as `{<path>}`, AllowMissingKeys(true)). Supported: `.field`, `['key']`,
// `[n]`, slices `[a:b:c]`, `[*]`, `.*`, filters `[?(@.x=="v")]` (==, !=, <, >,
// <=, >=, and existence), literals. Unsupported syntax (`..`, unions, range)
// and evaluation errors yield "not found", as a failed column yields a null cell.

type Node =
  | { kind: 'field'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'array'; params: [Param, Param, Param] }
  | { kind: 'filter'; left: Node[]; right: Node[]; op: string }
  | { kind: 'text'; text: string }
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean };

interface Param {
  value: number;
  known: boolean;
  derived: boolean;
}

/** A literal or JSON value with the Go kind jsonpath's comparisons see. */
type Kind = 'int' | 'float' | 'string' | 'bool';

const NOT_FOUND = { found: false, value: undefined } as const;

/** The first value `path` selects in `object` (kube-apiserver shows only that one). */
export function jsonPathFirst(object: unknown, path: string): { found: boolean; value: unknown } {
  try {
    const results = evalList([object], parse(path));
    return results.length > 0 ? { found: true, value: results[0] } : NOT_FOUND;
  } catch {
    return NOT_FOUND;
  }
}

// ---- parser (mirrors client-go util/jsonpath/parser.go inside one action) ----

class Parser {
  readonly input: string;
  pos = 0;
  readonly nodes: Node[] = [];
  constructor(input: string) {
    this.input = input;
  }
  rest(): string {
    return this.input.slice(this.pos);
  }
}

function parse(text: string): Node[] {
  const p = new Parser(text);
  while (p.pos < p.input.length) parseStep(p);
  return p.nodes;
}

function parseStep(p: Parser): void {
  const rest = p.rest();
  if (rest.startsWith('[?(')) return parseFilter(p);
  if (rest.startsWith('..')) throw new Error('recursive descent is not supported');
  const r = rest[0] ?? '';
  if (r === '\r' || r === '\n') throw new Error('unclosed action');
  if (r === ' ' || r === '@' || r === '$') {
    p.pos++;
  } else if (r === '[') {
    parseArray(p);
  } else if (r === '"' || r === "'") {
    parseQuote(p, r);
  } else if (r === '.') {
    parseField(p);
  } else if (r === '+' || r === '-' || /\d/.test(r)) {
    parseNumber(p);
  } else if (/[\p{L}\p{Nd}_]/u.test(r)) {
    parseIdentifier(p);
  } else {
    throw new Error(`unrecognized character in action: ${r}`);
  }
}

function isTerminator(r: string | undefined): boolean {
  return r === undefined || ' \t\r\n.,[]$@{}'.includes(r);
}

function parseField(p: Parser): void {
  p.pos++; // the dot
  const start = p.pos;
  while (!isTerminator(p.input[p.pos])) p.pos += p.input[p.pos] === '\\' ? 2 : 1;
  const value = p.input.slice(start, p.pos);
  p.nodes.push(value === '*' ? { kind: 'wildcard' } : { kind: 'field', name: value.replaceAll('\\', '') });
}

function parseIdentifier(p: Parser): void {
  const start = p.pos;
  while (!isTerminator(p.input[p.pos])) p.pos++;
  const value = p.input.slice(start, p.pos);
  if (value !== 'true' && value !== 'false') throw new Error(`unsupported identifier ${value}`);
  p.nodes.push({ kind: 'bool', value: value === 'true' });
}

function parseNumber(p: Parser): void {
  const start = p.pos;
  if (p.input[p.pos] === '+' || p.input[p.pos] === '-') p.pos++;
  while (/[\d.]/.test(p.input[p.pos] ?? '')) p.pos++;
  const text = p.input.slice(start, p.pos);
  if (/^[+-]?\d+$/.test(text)) p.nodes.push({ kind: 'int', value: Number(text) });
  else if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) p.nodes.push({ kind: 'float', value: Number(text) });
  else throw new Error(`cannot parse number ${text}`);
}

function parseQuote(p: Parser, quote: string): void {
  const start = p.pos;
  for (p.pos++; ; p.pos++) {
    const r = p.input[p.pos];
    if (r === undefined || r === '\n') throw new Error('unterminated quoted string');
    if (r === quote && p.input[p.pos - 1] !== '\\') break;
  }
  p.pos++;
  p.nodes.push({ kind: 'text', text: unquote(p.input.slice(start + 1, p.pos - 1), quote) });
}

/** strconv.UnquoteChar's common escapes; anything else is a parse error. */
function unquote(body: string, quote: string): string {
  return body.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)|["']/g, (m, esc: string | undefined) => {
    if (esc === undefined) {
      if (m === quote) throw new Error('unescaped quote');
      return m;
    }
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (esc.length > 1) return String.fromCharCode(parseInt(esc.slice(1), 16));
    const c = simple[esc];
    if (c === undefined || (esc === "'" && quote === '"') || (esc === '"' && quote === "'")) throw new Error(`invalid escape \\${esc}`);
    return c;
  });
}

function parseArray(p: Parser): void {
  const end = p.input.indexOf(']', p.pos);
  const newline = p.input.indexOf('\n', p.pos);
  if (end < 0 || (newline >= 0 && newline < end)) throw new Error('unterminated array');
  let text = p.input.slice(p.pos + 1, end);
  p.pos = end + 1;
  if (text === '*') text = ':';
  if (text.includes(',')) throw new Error('unions are not supported');
  const key = /^'([^']*)'$/.exec(text);
  if (key) {
    p.nodes.push(...parse(`.${key[1] ?? ''}`));
    return;
  }
  const m = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/.exec(text);
  if (!m) throw new Error(`invalid array index ${text}`);
  p.nodes.push({ kind: 'array', params: sliceParams([m[1] ?? '', m[2] ?? '', m[3] ?? '']) });
}

function sliceParams(groups: string[]): [Param, Param, Param] {
  const params: Param[] = [];
  groups.forEach((group, i) => {
    const text = i > 0 ? group.slice(1) : group;
    if (group !== '' && !(i > 0 && text === '')) {
      if (!/^-?\d+$/.test(text)) throw new Error(`array index ${text} is not a number`);
      params.push({ value: Number(text), known: true, derived: false });
    } else if (group === '' && i === 1) {
      params.push({ value: (params[0]?.value ?? 0) + 1, known: true, derived: true });
    } else {
      params.push({ value: 0, known: false, derived: false });
    }
  });
  return params as [Param, Param, Param];
}

function parseFilter(p: Parser): void {
  p.pos += 3; // "[?("
  const start = p.pos;
  let begin = false;
  let end = false;
  let pair = '';
  for (;;) {
    const r = p.input[p.pos++];
    if (r === undefined || r === '\n') throw new Error('unterminated filter');
    if (r === '"' || r === "'") {
      if (!begin) {
        begin = true;
        pair = r;
      } else if (p.input[p.pos - 2] !== '\\' && r === pair) {
        end = true;
      }
    } else if (r === ')' && begin === end) {
      break;
    }
  }
  if (p.input[p.pos++] !== ']') throw new Error('unclosed array expect ]');
  const text = p.input.slice(start, p.pos - 2);
  const m = /^([^!<>=]+)([!<>=]+)(.+?)$/.exec(text);
  if (!m) p.nodes.push({ kind: 'filter', left: parse(text), right: [], op: 'exists' });
  else p.nodes.push({ kind: 'filter', left: parse(m[1] ?? ''), right: parse(m[3] ?? ''), op: m[2] ?? '' });
}

// ---- evaluation (mirrors client-go util/jsonpath/jsonpath.go) ----

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function evalList(input: unknown[], nodes: Node[]): unknown[] {
  let values = input;
  for (const node of nodes) values = walk(values, node);
  return values;
}

function walk(input: unknown[], node: Node): unknown[] {
  switch (node.kind) {
    case 'field':
      // A present key with a null value is a match; a missing key is not.
      return input.filter(isObject).filter((v) => Object.hasOwn(v, node.name)).map((v) => v[node.name]);
    case 'wildcard':
      return input.flatMap((v) => (Array.isArray(v) ? v : isObject(v) ? Object.values(v) : []));
    case 'array':
      return evalArray(input, node.params);
    case 'filter':
      return input.flatMap((v) => evalFilter(v, node));
    case 'text':
      return [node.text];
    case 'int':
    case 'float':
    case 'bool':
      return input.map(() => node.value);
  }
}

function evalArray(input: unknown[], [p0, p1, p2]: [Param, Param, Param]): unknown[] {
  const result: unknown[] = [];
  for (const value of input) {
    if (value === null || value === undefined) continue;
    if (!Array.isArray(value)) throw new Error('not array or slice');
    const len = value.length;
    let start = p0.known ? p0.value : 0;
    if (start < 0) start += len;
    let end = p1.known ? p1.value : len;
    if (end < 0 || (end === 0 && p1.derived)) end += len;
    // Requesting zero elements ends the whole evaluation with what was found so far.
    if (end === start) return result;
    if (start >= len || start < 0 || end > len || end < 0 || start > end) throw new Error('array index out of bounds');
    if (p2.known && p2.value <= 0) throw new Error('step must be > 0');
    const step = p2.known ? p2.value : 1;
    for (let i = start; i < end; i += step) result.push(value[i]);
  }
  return result;
}

function evalFilter(value: unknown, node: Extract<Node, { kind: 'filter' }>): unknown[] {
  if (!Array.isArray(value)) throw new Error('not array or slice and cannot be filtered');
  return value.filter((item) => {
    if (node.op === 'exists') return exists(item, node.left);
    const lefts = evalList([item], node.left);
    if (lefts.length === 0) return false;
    if (lefts.length > 1) throw new Error('can only compare one element at a time');
    const rights = evalList([item], node.right);
    if (rights.length === 0) return false;
    if (rights.length > 1) throw new Error('can only compare one element at a time');
    return compare(operand(lefts[0], node.left), operand(rights[0], node.right), node.op);
  });
}

/** Existence filters ignore evaluation errors, as client-go does. */
function exists(item: unknown, left: Node[]): boolean {
  try {
    return evalList([item], left).length > 0;
  } catch {
    return false;
  }
}

/** The Go kind of a compared value: literals keep their parsed kind, JSON integers are int64. */
function operand(value: unknown, nodes: Node[]): { kind: Kind; value: string | number | boolean } {
  const last = nodes.at(-1);
  if (typeof value === 'string') return { kind: 'string', value };
  if (typeof value === 'boolean') return { kind: 'bool', value };
  if (typeof value === 'number') {
    const literal = nodes.length === 1 && (last?.kind === 'int' || last?.kind === 'float');
    const kind = literal ? (last.kind as Kind) : Number.isInteger(value) ? 'int' : 'float';
    return { kind, value };
  }
  throw new Error('invalid type for comparison');
}

function compare(left: { kind: Kind; value: unknown }, right: { kind: Kind; value: unknown }, op: string): boolean {
  if (left.kind !== right.kind) throw new Error('incompatible types for comparison');
  const [a, b] = [left.value as string | number, right.value as string | number];
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
  if (left.kind === 'bool') throw new Error('invalid type for comparison');
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
  }
  throw new Error(`unrecognized filter operator ${op}`);
}
