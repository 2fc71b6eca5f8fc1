// Calico's selector language (libcalico-go lib/selector), evaluated against a
// set of labels: `all()`, `has(k)`, `k == "v"`, `k != "v"`, `k in {"a","b"}`,
// `k not in {…}`, `k contains "s"`, `k starts with "s"`, `k ends with "s"`,
// `!`, `&&`, `||` and parentheses. An IP pool's nodeSelector is one; so is a
// policy's selector.

type Labels = Record<string, string>;
type Matcher = (labels: Labels) => boolean;

const parsed = new Map<string, Matcher>();

/** Whether `selector` selects `labels`; throws on a selector Calico would reject. */
export function selectsLabels(selector: string, labels: Labels): boolean {
  let matcher = parsed.get(selector);
  if (!matcher) parsed.set(selector, (matcher = parseSelector(selector)));
  return matcher(labels);
}

const TOKEN = /\s*(?:(all\(\s*\))|(global\(\s*\))|has\(\s*([a-zA-Z0-9_./-]{1,512})\s*\)|(not\s*in\b)|(in\b)|(contains)|(starts\s*with)|(ends\s*with)|"([^"]*)"|'([^']*)'|(==|!=|&&|\|\||[!(){},])|([a-zA-Z0-9_./-]{1,512}))/y;

type Token = { kind: 'all' | 'has' | 'notin' | 'in' | 'contains' | 'starts' | 'ends' | 'string' | 'op' | 'label'; value: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (input.slice(TOKEN.lastIndex).trim()) {
    const m = TOKEN.exec(input);
    if (!m) throw new Error(`unexpected characters in selector: ${input.slice(TOKEN.lastIndex)}`);
    if (m[1] || m[2]) tokens.push({ kind: 'all', value: '' });
    else if (m[3]) tokens.push({ kind: 'has', value: m[3] });
    else if (m[4]) tokens.push({ kind: 'notin', value: '' });
    else if (m[5]) tokens.push({ kind: 'in', value: '' });
    else if (m[6]) tokens.push({ kind: 'contains', value: '' });
    else if (m[7]) tokens.push({ kind: 'starts', value: '' });
    else if (m[8]) tokens.push({ kind: 'ends', value: '' });
    else if (m[9] !== undefined || m[10] !== undefined) tokens.push({ kind: 'string', value: m[9] ?? m[10]! });
    else if (m[11]) tokens.push({ kind: 'op', value: m[11] });
    else tokens.push({ kind: 'label', value: m[12]! });
  }
  return tokens;
}

function parseSelector(selector: string): Matcher {
  const tokens = tokenize(selector);
  let i = 0;
  const peek = (value?: string) => tokens[i] && (value === undefined || tokens[i]!.value === value) ? tokens[i] : undefined;
  const expect = (kind: Token['kind'], value?: string): Token => {
    const token = tokens[i++];
    if (!token || token.kind !== kind || (value !== undefined && token.value !== value)) throw new Error(`unexpected token in selector "${selector}"`);
    return token;
  };
  const or = (): Matcher => {
    const parts = [and()];
    while (peek('||')) {
      i++;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : (labels) => parts.some((p) => p(labels));
  };
  const and = (): Matcher => {
    const parts = [unary()];
    while (peek('&&')) {
      i++;
      parts.push(unary());
    }
    return parts.length === 1 ? parts[0]! : (labels) => parts.every((p) => p(labels));
  };
  const unary = (): Matcher => {
    if (peek('!') && tokens[i]!.kind === 'op') {
      i++;
      const inner = unary();
      return (labels) => !inner(labels);
    }
    if (peek('(') && tokens[i]!.kind === 'op') {
      i++;
      const inner = or();
      expect('op', ')');
      return inner;
    }
    const token = tokens[i++];
    if (!token) throw new Error(`unexpected end of selector "${selector}"`);
    if (token.kind === 'all') return () => true;
    if (token.kind === 'has') return (labels) => token.value in labels;
    if (token.kind !== 'label') throw new Error(`unexpected token in selector "${selector}"`);
    const key = token.value;
    const op = tokens[i++];
    if (op?.kind === 'op' && (op.value === '==' || op.value === '!=')) {
      const value = expect('string').value;
      return op.value === '==' ? (labels) => labels[key] === value : (labels) => labels[key] !== value;
    }
    if (op?.kind === 'in' || op?.kind === 'notin') {
      expect('op', '{');
      const set = new Set<string>();
      while (!peek('}')) {
        set.add(expect('string').value);
        if (peek(',')) i++;
      }
      i++;
      return op.kind === 'in' ? (labels) => key in labels && set.has(labels[key]!) : (labels) => !(key in labels && set.has(labels[key]!));
    }
    if (op?.kind === 'contains' || op?.kind === 'starts' || op?.kind === 'ends') {
      const value = expect('string').value;
      const test = op.kind === 'contains' ? (s: string) => s.includes(value) : op.kind === 'starts' ? (s: string) => s.startsWith(value) : (s: string) => s.endsWith(value);
      return (labels) => key in labels && test(labels[key]!);
    }
    throw new Error(`unexpected token in selector "${selector}"`);
  };
  const matcher = or();
  if (i !== tokens.length) throw new Error(`unexpected token in selector "${selector}"`);
  return matcher;
}
