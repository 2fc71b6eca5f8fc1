// Calico's selector language (libcalico-go lib/selector), as IP pools'
// nodeSelector and BGPPeers' nodeSelector/peerSelector use it: all(),
// global(), has(k), k == 'v', k != 'v', k in {…}, k not in {…}, k contains
// 's', k starts with 's', k ends with 's', !, &&, || and parentheses. A
// selector outside it is an error, never a guess.

export type Labels = Record<string, string>;
export type Matcher = (labels: Labels) => boolean;

export class SelectorError extends Error {}

const TOKEN = /\s*(?:(all\(\))|(global\(\))|(has\()|(&&|\|\||==|!=|!|\(|\)|\{|\}|,)|('[^']*'|"[^"]*")|(not\s+in(?=[\s{])|in(?=[\s{])|contains(?=[\s'"])|starts\s+with(?=[\s'"])|ends\s+with(?=[\s'"]))|([A-Za-z0-9_./-]+))/y;

type Token = { kind: 'all' | 'global' | 'has' | 'op' | 'string' | 'word' | 'key'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new SelectorError(`selector ${JSON.stringify(text)}: unexpected text at ${JSON.stringify(text.slice(at).trim())}`);
    if (m[1]) tokens.push({ kind: 'all', text: m[1] });
    else if (m[2]) tokens.push({ kind: 'global', text: m[2] });
    else if (m[3]) tokens.push({ kind: 'has', text: m[3] });
    else if (m[4]) tokens.push({ kind: 'op', text: m[4] });
    else if (m[5]) tokens.push({ kind: 'string', text: m[5].slice(1, -1) });
    else if (m[6]) tokens.push({ kind: 'word', text: m[6].replace(/\s+/g, ' ') });
    else tokens.push({ kind: 'key', text: m[7]! });
  }
  return tokens;
}

/** Compiles a selector; the empty selector selects everything, as in Calico. */
export function parseSelector(text: string): Matcher {
  const tokens = tokenize(text);
  let i = 0;
  const fail = (what: string): never => {
    throw new SelectorError(`selector ${JSON.stringify(text)}: ${what}`);
  };
  const next = () => tokens[i++];
  const expect = (t: string) => {
    if (tokens[i]?.text !== t || tokens[i]?.kind === 'string') fail(`expected "${t}"`);
    i++;
  };
  const string = (): string => {
    const t = next();
    if (t?.kind !== 'string') fail('expected a quoted value');
    return t!.text;
  };
  const primary = (): Matcher => {
    const t = next();
    if (!t) return fail('unexpected end');
    if (t.kind === 'all' || t.kind === 'global') return () => true;
    if (t.kind === 'op' && t.text === '!') {
      const inner = primary();
      return (l) => !inner(l);
    }
    if (t.kind === 'op' && t.text === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (t.kind === 'has') {
      const key = next();
      if (key?.kind !== 'key') fail('expected a label key in has()');
      expect(')');
      return (l) => Object.hasOwn(l, key!.text);
    }
    if (t.kind !== 'key') return fail(`unexpected ${JSON.stringify(t.text)}`);
    const key = t.text;
    const op = next();
    if (op?.kind === 'op' && (op.text === '==' || op.text === '!=')) {
      const value = string();
      return op.text === '==' ? (l) => l[key] === value : (l) => l[key] !== value;
    }
    if (op?.kind === 'word') {
      if (op.text === 'in' || op.text === 'not in') {
        expect('{');
        const values = new Set<string>();
        while (tokens[i]?.text !== '}' || tokens[i]?.kind === 'string') {
          values.add(string());
          if (tokens[i]?.text === ',' && tokens[i]?.kind === 'op') i++;
          else if (tokens[i]?.text !== '}') fail('expected "," or "}"');
        }
        i++;
        return op.text === 'in' ? (l) => Object.hasOwn(l, key) && values.has(l[key]!) : (l) => !Object.hasOwn(l, key) || !values.has(l[key]!);
      }
      const value = string();
      if (op.text === 'contains') return (l) => Object.hasOwn(l, key) && l[key]!.includes(value);
      if (op.text === 'starts with') return (l) => Object.hasOwn(l, key) && l[key]!.startsWith(value);
      return (l) => Object.hasOwn(l, key) && l[key]!.endsWith(value);
    }
    return fail(`expected an operator after ${JSON.stringify(key)}`);
  };
  const and = (): Matcher => {
    let left = primary();
    while (tokens[i]?.kind === 'op' && tokens[i]?.text === '&&') {
      i++;
      const [a, b] = [left, primary()];
      left = (l) => a(l) && b(l);
    }
    return left;
  };
  const or = (): Matcher => {
    let left = and();
    while (tokens[i]?.kind === 'op' && tokens[i]?.text === '||') {
      i++;
      const [a, b] = [left, and()];
      left = (l) => a(l) || b(l);
    }
    return left;
  };
  if (tokens.length === 0) return () => true;
  const matcher = or();
  if (i < tokens.length) fail(`unexpected ${JSON.stringify(tokens[i]!.text)}`);
  return matcher;
}
