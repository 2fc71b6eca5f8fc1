// Calico's selector language, as Felix parses and evaluates it: a port of
// projectcalico/calico v3.32.1 libcalico-go/lib/selector (tokenizer/tokenizer.go,
// parser/parser.go, parser/ast.go, parser/stringset.go).
//
//   all()  global()  has(k)  !has(k)  k == "v"  k != "v"  k in {"a", "b"}  k not in {…}
//   k contains "s"  k starts with "s"  k ends with "s"  !  &&  ||  ( … )
//
// `!` binds to the operation after it (`!a == "x"` is `!(a == "x")`), `&&`
// binds tighter than `||`; an empty selector is all(). Errors are the parser's
// Go error texts. v3.29–v3.31 accept the same language; their error texts
// differ in wording only ("Expected string", "unexpected characters after label").
// global() evaluates true like all(); the update processors rewrite it inside
// namespace selectors (policy-rules.ts).

/** A selector Calico would reject: `message` is the parser's error text. */
export class SelectorParseError extends Error {
  override name = 'SelectorParseError';
}

type TokenKind =
  | 'TokLabel' | 'TokStringLiteral' | 'TokLBrace' | 'TokRBrace' | 'TokComma' | 'TokEq' | 'TokNe' | 'TokIn' | 'TokNot'
  | 'TokNotIn' | 'TokContains' | 'TokStartsWith' | 'TokEndsWith' | 'TokAll' | 'TokHas' | 'TokLParen' | 'TokRParen'
  | 'TokAnd' | 'TokOr' | 'TokGlobal' | 'TokEOF';

export interface Token {
  kind: TokenKind;
  value: string;
}

const MAX_LABEL_LENGTH = 512;

/** Token.String(): `TokLabel(a)`, `TokEOF()`. */
function tokenString(token: Token): string {
  return `${token.kind}(${token.value})`;
}

function identifierChar(c: string | undefined): boolean {
  return c !== undefined && /[a-zA-Z0-9_./-]/.test(c);
}

/** Only spaces and tabs are whitespace to Calico. */
function trimWhitespace(input: string): string {
  let end = 0;
  while (input[end] === ' ' || input[end] === '\t') end++;
  return input.slice(end);
}

function isWordBoundary(rest: string): boolean {
  return rest === '' || !identifierChar(rest[0]);
}

function cutPrefixCheckBreak(input: string, prefix: string): string | undefined {
  if (!input.startsWith(prefix)) return undefined;
  const rest = input.slice(prefix.length);
  return isWordBoundary(rest) ? rest : undefined;
}

/** `not in`, `notin`, `starts  with`: words with optional spaces between, a word boundary after the last. */
function cutMultiWordPrefixCheckBreak(input: string, ...words: string[]): string | undefined {
  let rest = input;
  for (const word of words) {
    if (!rest.startsWith(word)) return undefined;
    rest = trimWhitespace(rest.slice(word.length));
  }
  return isWordBoundary(rest) ? rest : undefined;
}

function cutIdentifier(input: string): [string, string] {
  let i = 0;
  while (i < input.length && identifierChar(input[i])) i++;
  const ident = input.slice(0, i);
  if (ident.length > MAX_LABEL_LENGTH) throw new SelectorParseError(`label too long: ${ident}`);
  if (ident.length === 0) throw new SelectorParseError('expected identifier');
  return [ident, input.slice(i)];
}

/** tokenizer.Tokenize: the tokens of `input`, ending with TokEOF. */
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  const push = (kind: TokenKind, value = '') => tokens.push({ kind, value });
  for (;;) {
    const startLength = input.length;
    input = trimWhitespace(input);
    if (input.length === 0) {
      push('TokEOF');
      return tokens;
    }
    const last = tokens.at(-1)?.kind;
    const c = input[0]!;
    let rest: string | undefined;
    if (c === '(' || c === ')' || c === '{' || c === '}' || c === ',') {
      push(({ '(': 'TokLParen', ')': 'TokRParen', '{': 'TokLBrace', '}': 'TokRBrace', ',': 'TokComma' } as const)[c]);
      input = input.slice(1);
    } else if (c === '"' || c === "'") {
      const end = input.indexOf(c, 1);
      if (end === -1) throw new SelectorParseError('unterminated string');
      push('TokStringLiteral', input.slice(1, end));
      input = input.slice(end + 1);
    } else if (c === '=') {
      if (!input.startsWith('==')) throw new SelectorParseError('expected ==');
      push('TokEq');
      input = input.slice(2);
    } else if (c === '!') {
      if (input.startsWith('!=')) {
        push('TokNe');
        input = input.slice(2);
      } else {
        push('TokNot');
        input = input.slice(1);
      }
    } else if (c === '&' || c === '|') {
      if (input[1] !== c) throw new SelectorParseError(`expected ${c}${c}`);
      push(c === '&' ? 'TokAnd' : 'TokOr');
      input = input.slice(2);
    } else if (last === 'TokLabel') {
      // After a label only an operator may follow.
      if ((rest = cutPrefixCheckBreak(input, 'contains')) !== undefined) push('TokContains');
      else if ((rest = cutMultiWordPrefixCheckBreak(input, 'starts', 'with')) !== undefined) push('TokStartsWith');
      else if ((rest = cutMultiWordPrefixCheckBreak(input, 'ends', 'with')) !== undefined) push('TokEndsWith');
      else if ((rest = cutMultiWordPrefixCheckBreak(input, 'not', 'in')) !== undefined) push('TokNotIn');
      else if ((rest = cutPrefixCheckBreak(input, 'in')) !== undefined) push('TokIn');
      else throw new SelectorParseError(`expected operator after label ${goQuoted(tokens.at(-1)!.value)}`);
      input = rest;
    } else if (input.startsWith('has(')) {
      const [ident, after] = cutIdentifier(trimWhitespace(input.slice(4)));
      const close = trimWhitespace(after);
      if (!close.startsWith(')')) throw new SelectorParseError("no closing ')' after has(");
      push('TokHas', ident);
      input = close.slice(1);
    } else if (input.startsWith('all(') || input.startsWith('global(')) {
      const word = input.startsWith('all(') ? 'all' : 'global';
      const close = trimWhitespace(input.slice(word.length + 1));
      if (!close.startsWith(')')) throw new SelectorParseError(`no closing ')' after ${word}(`);
      push(word === 'all' ? 'TokAll' : 'TokGlobal');
      input = close.slice(1);
    } else {
      const [ident, after] = cutIdentifier(input);
      push('TokLabel', ident);
      input = after;
    }
    if (input.length >= startLength) throw new SelectorParseError('infinite loop detected in tokenizer');
  }
}

/** Go's %q for the label names in error texts (labels are ASCII identifier characters). */
function goQuoted(s: string): string {
  return JSON.stringify(s);
}

// ---------------------------------------------------------------------------
// The syntax tree

/** A label lookup: the value, or undefined when the label is absent. */
export type Labels = (key: string) => string | undefined;

export type SelectorNode =
  | { op: 'all' }
  | { op: 'global' }
  | { op: 'has'; label: string }
  | { op: '==' | '!=' | 'contains' | 'starts with' | 'ends with'; label: string; value: string }
  | { op: 'in' | 'not in'; label: string; values: string[] }
  | { op: '!'; operand: SelectorNode }
  | { op: '&&' | '||'; operands: SelectorNode[] };

export interface Selector {
  root: SelectorNode;
  /** Selector.String(): the canonical form, e.g. `(a == "b" && has(c))`. */
  text: string;
}

function evaluateNode(node: SelectorNode, labels: Labels): boolean {
  switch (node.op) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return labels(node.label) !== undefined;
    case '!':
      return !evaluateNode(node.operand, labels);
    case '&&':
      return node.operands.every((operand) => evaluateNode(operand, labels));
    case '||':
      return node.operands.some((operand) => evaluateNode(operand, labels));
  }
  const value = labels(node.label);
  switch (node.op) {
    case '==':
      return value === node.value;
    case '!=':
      return value !== node.value;
    case 'contains':
      return value !== undefined && value.includes(node.value);
    case 'starts with':
      return value !== undefined && value.startsWith(node.value);
    case 'ends with':
      return value !== undefined && value.endsWith(node.value);
    case 'in':
      return value !== undefined && node.values.includes(value);
    case 'not in':
      return value === undefined || !node.values.includes(value);
  }
}

export function evaluate(selector: Selector, labels: Labels): boolean {
  return evaluateNode(selector.root, labels);
}

/** `"v"`, or `'v'` when the value holds a double quote (appendLabelOpAndQuotedString). */
function quoted(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

/** collectFragments: the canonical text Calico compares and hashes selectors by. */
function nodeText(node: SelectorNode): string {
  switch (node.op) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.label})`;
    case '!':
      return `!${nodeText(node.operand)}`;
    case '&&':
    case '||':
      return `(${node.operands.map(nodeText).join(` ${node.op} `)})`;
    case 'in':
    case 'not in':
      return `${node.label} ${node.op} {${node.values.map(quoted).join(', ')}}`;
    default:
      return `${node.label} ${node.op} ${quoted(node.value)}`;
  }
}

function selectorOf(root: SelectorNode): Selector {
  return { root, text: nodeText(root) };
}

/** parser.PrefixVisitor: every label name gets `prefix` (how namespace and service account selectors become `pcns.`/`pcsa.` ones). */
export function withLabelPrefix(selector: Selector, prefix: string): Selector {
  const visit = (node: SelectorNode): SelectorNode => {
    switch (node.op) {
      case 'all':
      case 'global':
        return node;
      case '!':
        return { op: '!', operand: visit(node.operand) };
      case '&&':
      case '||':
        return { op: node.op, operands: node.operands.map(visit) };
      default:
        return { ...node, label: prefix + node.label };
    }
  };
  return selectorOf(visit(selector.root));
}

// ---------------------------------------------------------------------------
// The parser

/** ConvertToStringSetInPlace: sorted (Go's byte order) and de-duplicated. */
function stringSet(values: string[]): string[] {
  return [...new Set(values)].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

class Parser {
  private tokens: Token[];
  private pos = 0;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(offset = 0): Token {
    // The token list always ends with TokEOF, which the grammar never steps over.
    return this.tokens[this.pos + offset] ?? { kind: 'TokEOF', value: '' };
  }

  parseRoot(): SelectorNode {
    if (this.peek().kind === 'TokEOF') return { op: 'all' };
    const node = this.parseOr();
    if (this.tokens.length - this.pos !== 1) {
      throw new SelectorParseError(`unexpected content at end of selector [${this.tokens.slice(this.pos).map(tokenString).join(' ')}]`);
    }
    return node;
  }

  private parseOr(): SelectorNode {
    const operands = [this.parseAnd()];
    while (this.peek().kind === 'TokOr') {
      this.pos++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { op: '||', operands };
  }

  private parseAnd(): SelectorNode {
    const operands = [this.parseOperation()];
    while (this.peek().kind === 'TokAnd') {
      this.pos++;
      operands.push(this.parseOperation());
    }
    return operands.length === 1 ? operands[0]! : { op: '&&', operands };
  }

  /** One possibly negated operation; leading `!`s collapse to one negation or none. */
  private parseOperation(): SelectorNode {
    let negated = false;
    while (this.peek().kind === 'TokNot') {
      negated = !negated;
      this.pos++;
    }
    const node = this.parseTerm();
    return negated ? { op: '!', operand: node } : node;
  }

  private parseTerm(): SelectorNode {
    const token = this.peek();
    switch (token.kind) {
      case 'TokHas':
        this.pos++;
        return { op: 'has', label: token.value };
      case 'TokAll':
        this.pos++;
        return { op: 'all' };
      case 'TokGlobal':
        this.pos++;
        return { op: 'global' };
      case 'TokLParen': {
        this.pos++;
        const node = this.parseOr();
        if (this.peek().kind !== 'TokRParen') throw new SelectorParseError('expected )');
        this.pos++;
        return node;
      }
      case 'TokLabel':
        return this.parseLabelOperation();
      default:
        throw new SelectorParseError(`unexpected token: ${tokenString(token)}`);
    }
  }

  private parseLabelOperation(): SelectorNode {
    if (this.tokens.length - this.pos < 3) throw new SelectorParseError('unexpected end of string looking for op');
    const label = this.peek().value;
    const operator = this.peek(1);
    const operand = this.peek(2);
    const binary = ({ TokEq: '==', TokNe: '!=', TokContains: 'contains', TokStartsWith: 'starts with', TokEndsWith: 'ends with' } as const)[operator.kind as 'TokEq'];
    if (binary) {
      if (operand.kind !== 'TokStringLiteral') throw new SelectorParseError('expected string');
      this.pos += 3;
      return { op: binary, label, value: operand.value };
    }
    if (operator.kind !== 'TokIn' && operator.kind !== 'TokNotIn') throw new SelectorParseError(`expected == or != not: ${tokenString(operator)}`);
    if (operand.kind !== 'TokLBrace') throw new SelectorParseError('expected set literal');
    this.pos += 3;
    const values: string[] = [];
    while (this.peek().kind === 'TokStringLiteral') {
      values.push(this.peek().value);
      this.pos++;
      if (this.peek().kind !== 'TokComma') break;
      this.pos++;
    }
    if (this.peek().kind !== 'TokRBrace') throw new SelectorParseError('expected }');
    this.pos++;
    return { op: operator.kind === 'TokIn' ? 'in' : 'not in', label, values: stringSet(values) };
  }
}

/** selector.Parse. Throws SelectorParseError with Calico's error text. */
export function parseSelector(text: string): Selector {
  return selectorOf(new Parser(tokenize(text)).parseRoot());
}
