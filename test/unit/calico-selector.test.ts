// Calico's selector language: the tables of projectcalico/calico v3.32.1
// libcalico-go/lib/selector (tokenizer_test.go, parser_test.go), ported.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate, parseSelector, SelectorParseError, tokenize, withLabelPrefix, type Token } from '../cluster/dataplane/calico-selector.ts';

const t = (kind: Token['kind'], value = ''): Token => ({ kind, value });

describe('tokenizer (tokenizer_test.go)', () => {
  const cases: [string, Token[] | null][] = [
    ['a=="b"', [t('TokLabel', 'a'), t('TokEq'), t('TokStringLiteral', 'b'), t('TokEOF')]],
    ['a!="b"', [t('TokLabel', 'a'), t('TokNe'), t('TokStringLiteral', 'b'), t('TokEOF')]],
    ['a != "b"', [t('TokLabel', 'a'), t('TokNe'), t('TokStringLiteral', 'b'), t('TokEOF')]],
    ['(a=="b")', [t('TokLParen'), t('TokLabel', 'a'), t('TokEq'), t('TokStringLiteral', 'b'), t('TokRParen'), t('TokEOF')]],
    ['label == "value"', [t('TokLabel', 'label'), t('TokEq'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['label contains "value"', [t('TokLabel', 'label'), t('TokContains'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['contains contains "contains"', [t('TokLabel', 'contains'), t('TokContains'), t('TokStringLiteral', 'contains'), t('TokEOF')]],
    ["contains contains 'contains'", [t('TokLabel', 'contains'), t('TokContains'), t('TokStringLiteral', 'contains'), t('TokEOF')]],
    ['label contains"value"', [t('TokLabel', 'label'), t('TokContains'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['label startswith "value"', [t('TokLabel', 'label'), t('TokStartsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['label endswith "value"', [t('TokLabel', 'label'), t('TokEndsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['label starts with "value"', [t('TokLabel', 'label'), t('TokStartsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['startswith starts with "value"', [t('TokLabel', 'startswith'), t('TokStartsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['label ends with "value"', [t('TokLabel', 'label'), t('TokEndsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['endswith ends with "value"', [t('TokLabel', 'endswith'), t('TokEndsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['label starts  with "value"', [t('TokLabel', 'label'), t('TokStartsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    ['label ends  with "value"', [t('TokLabel', 'label'), t('TokEndsWith'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    [`${'a'.repeat(512)} == "value"`, [t('TokLabel', 'a'.repeat(512)), t('TokEq'), t('TokStringLiteral', 'value'), t('TokEOF')]],
    [`${'a'.repeat(513)} == "value"`, null],
    ['label == "value', null],
    ["label == 'value", null],
    ['label = "value"', null],
    ['all(', null],
    ['global(', null],
    ['has()', null],
    ['has(foo', null],
    ['has( foo ', null],
    ['a == "b" & has(foo)', null],
    ['a == "b" | has(foo)', null],
    ['label starts foo "value"', null],
    ['label inf "value"', null],
    ['label ends foo "value"', null],
    ['label ends withs "value"', null],
    ['label squiggles "value"', null],
    ['a not in "bar" && !has(foo) || b in c', [t('TokLabel', 'a'), t('TokNotIn'), t('TokStringLiteral', 'bar'), t('TokAnd'), t('TokNot'), t('TokHas', 'foo'), t('TokOr'), t('TokLabel', 'b'), t('TokIn'), t('TokLabel', 'c'), t('TokEOF')]],
    ['has(calico/k8s_ns)', [t('TokHas', 'calico/k8s_ns'), t('TokEOF')]],
    ['has(calico/k8s_ns/role)', [t('TokHas', 'calico/k8s_ns/role'), t('TokEOF')]],
    ['has(calico/k8s_NS-.1/role)', [t('TokHas', 'calico/k8s_NS-.1/role'), t('TokEOF')]],
    ['calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"', [t('TokLabel', 'calico/k8s_ns'), t('TokEq'), t('TokStringLiteral', 'kube-system'), t('TokAnd'), t('TokLabel', 'k8s-app'), t('TokEq'), t('TokStringLiteral', 'kube-dns'), t('TokEOF')]],
    ['a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c ', [t('TokLabel', 'a'), t('TokNotIn'), t('TokStringLiteral', 'bar'), t('TokAnd'), t('TokNot'), t('TokHas', 'foo'), t('TokOr'), t('TokLabel', 'b'), t('TokIn'), t('TokLabel', 'c'), t('TokEOF')]],
    ['a notin"bar"&&!has(foo)||b in"c"', [t('TokLabel', 'a'), t('TokNotIn'), t('TokStringLiteral', 'bar'), t('TokAnd'), t('TokNot'), t('TokHas', 'foo'), t('TokOr'), t('TokLabel', 'b'), t('TokIn'), t('TokStringLiteral', 'c'), t('TokEOF')]],
    ['a not in {}', [t('TokLabel', 'a'), t('TokNotIn'), t('TokLBrace'), t('TokRBrace'), t('TokEOF')]],
    ['a not in {"a"}', [t('TokLabel', 'a'), t('TokNotIn'), t('TokLBrace'), t('TokStringLiteral', 'a'), t('TokRBrace'), t('TokEOF')]],
    ['a not in {"a","B"}', [t('TokLabel', 'a'), t('TokNotIn'), t('TokLBrace'), t('TokStringLiteral', 'a'), t('TokComma'), t('TokStringLiteral', 'B'), t('TokRBrace'), t('TokEOF')]],
    ['global()', [t('TokGlobal'), t('TokEOF')]],
    ['global( )', [t('TokGlobal'), t('TokEOF')]],
    ['all()', [t('TokAll'), t('TokEOF')]],
    ['all( )', [t('TokAll'), t('TokEOF')]],
  ];
  for (const [input, expected] of cases) {
    test(expected ? `tokenizes ${JSON.stringify(input.slice(0, 60))}` : `refuses ${JSON.stringify(input.slice(0, 60))}`, () => {
      if (expected) assert.deepEqual(tokenize(input), expected);
      else assert.throws(() => tokenize(input), SelectorParseError);
    });
  }
});

type LabelSet = Record<string, string>;

describe('parser and evaluation (parser_test.go selectorTests)', () => {
  const cases: [string, LabelSet[], LabelSet[]][] = [
    ['a == "b"', [{ a: 'b' }, { a: 'b', c: 'd' }], [{}, { a: 'c' }, { c: 'd' }]],
    ['a == "b" && c == "d"', [{ a: 'b', c: 'd' }], [{}, { a: 'b', c: 'e' }, { a: 'c', c: 'd' }, { c: 'd' }, { a: 'b' }]],
    ['a == "b" || c == "d"', [{ a: 'b', c: 'd' }, { a: 'b' }, { c: 'd' }], [{}, { a: 'e', c: 'e' }, { c: 'e' }, { a: 'e' }]],
    [`a in {"'", '"', "c"}`, [{ a: 'c' }, { a: '"' }, { a: "'" }], [{}, { a: 'e' }]],
    [`a not in {"'", '"', "c"}`, [{}, { a: 'e' }], [{ a: 'c' }, { a: '"' }, { a: "'" }]],
    ["a == 'a'", [{ a: 'a' }], []],
    ['a == "a"', [{ a: 'a' }], []],
    ['a != "b"', [{ a: 'a' }], []],
    ['a != "a"', [{}], []],
    ['a contains "a"', [{ a: 'a' }, { a: 'bab' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { b: 'aaa' }]],
    ['a starts with "a"', [{ a: 'a' }, { a: 'abb' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'baa' }, { b: 'aaa' }]],
    ['a ends with "a"', [{ a: 'a' }, { a: 'bba' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'aab' }, { b: 'aaa' }]],
    ['a in {"a"}', [{ a: 'a' }], []],
    ['!a in {"a"}', [{ a: 'b' }], []],
    ['a in {"a", "b"}', [{ a: 'a' }, { a: 'b' }], []],
    ['a not in {"d", "e"}', [{ a: 'a' }], []],
    ['has(a)', [{ a: 'b' }], []],
    ['!has(a)', [{ b: 'b' }], []],
    ['', [{}, { a: 'b' }], []],
    [' ', [{}], []],
    ['all()', [{}], []],
    [' all()', [{}, { a: 'b' }], []],
    ['global()', [{}], []],
    [' global()', [{}, { a: 'b' }], []],
    ["a == 'a'", [], [{ a: 'b' }, {}]],
    ['a != "a"', [], [{ a: 'a' }]],
    ["a != 'a'", [], [{ a: 'a' }]],
    ['a in {"a"}', [], [{ a: 'b' }]],
    ['a not in {"a"}', [], [{ a: 'a' }]],
    ['a in {"a", "b"}', [], [{ a: 'c' }]],
    ['has(b)', [], [{ a: 'b' }]],
    ['!!has(b)', [], [{ a: 'b' }]],
    ['! has(a)', [], [{ a: 'b' }]],
    ['!has(a)', [], [{ a: 'b' }]],
    ['!!! has(a)', [], [{ a: 'b' }]],
    ['!!!has(a)', [], [{ a: 'b' }]],
    ['!! ! has(a)', [], [{ a: 'b' }]],
    ['! !!has(a)', [], [{ a: 'b' }]],
    ["a == 'a1' && b == 'b1'", [{ a: 'a1', b: 'b1' }], []],
    ["a == 'a1' && b != 'b1'", [], [{ a: 'a1', b: 'b1' }]],
    ["a != 'a1' && b == 'b1'", [], [{ a: 'a1', b: 'b1' }]],
    ["a != 'a1' && b != 'b1'", [], [{ a: 'a1', b: 'b1' }]],
    ["a != 'a1' && !b == 'b1'", [], [{ a: 'a1', b: 'b1' }]],
    ["!a == 'a1' && b == 'b1'", [], [{ a: 'a1', b: 'b1' }]],
    ['has(a) && !has(b)', [{ a: 'a' }], []],
    ['!has(b) && has(a)', [{ a: 'a' }], []],
    ['!(!has(a) || has(b))', [{ a: 'a' }], []],
    ['!(has(b) || !has(a))', [{ a: 'a' }], []],
    ["a == 'a1' || b == 'b1'", [{ a: 'a1', b: 'b1' }], []],
    ["a == 'a1' || b != 'b1'", [{ a: 'a1', b: 'b1' }], []],
    ["a != 'a1' || b == 'b1'", [{ a: 'a1', b: 'b1' }], []],
    ["a != 'a1' || b != 'b1'", [], [{ a: 'a1', b: 'b1' }]],
    ["! a == 'a1' || ! b == 'b1'", [], [{ a: 'a1', b: 'b1' }]],
  ];
  const labels = (set: LabelSet) => (key: string) => (Object.hasOwn(set, key) ? set[key] : undefined);
  for (const [text, matches, nonMatches] of cases) {
    test(`${JSON.stringify(text)} matches and does not match, before and after canonicalising`, () => {
      const selector = parseSelector(text);
      const canonical = parseSelector(selector.text);
      for (const s of [selector, canonical]) {
        for (const set of matches) assert.equal(evaluate(s, labels(set)), true, `${text} on ${JSON.stringify(set)}`);
        for (const set of nonMatches) assert.equal(evaluate(s, labels(set)), false, `${text} on ${JSON.stringify(set)}`);
      }
    });
  }
});

test('bad selectors are refused (parser_test.go badSelectors), with the parser\'s error texts', () => {
  const bad: [string, string][] = [
    ['b == b', 'expected string'],
    ['b contains b', 'expected string'],
    // The word boundary is checked after the spaces that follow `with`.
    ['b starts with b', 'expected operator after label "b"'],
    ['b ends with b', 'expected operator after label "b"'],
    ["'b1' == b", 'unexpected token: TokStringLiteral(b1)'],
    ['b', 'unexpected end of string looking for op'],
    ['a b', 'expected operator after label "a"'],
    ['!', 'unexpected token: TokEOF()'],
    ['foo == "bar" &', 'expected &&'],
    ['foo == "bar" |', 'expected ||'],
    ['foo != ||', 'expected string'],
    ['foo in {"", ||', 'expected }'],
    ['foo in ""', 'expected set literal'],
    ['"FOO', 'unterminated string'],
    [`"FOO'`, 'unterminated string'],
    ["'FOO", 'unterminated string'],
    ['(', 'unexpected token: TokEOF()'],
    ['(a == "foo"', 'expected )'],
    [')', 'unexpected token: TokRParen()'],
    ['()', 'unexpected token: TokRParen()'],
    ['%', 'expected identifier'],
    ['a == "b" && %', 'expected identifier'],
    ['a == "b" || %', 'expected identifier'],
    ['a ', 'unexpected end of string looking for op'],
    ['has(foo) &&', 'unexpected token: TokEOF()'],
    ['a == "b")', 'unexpected content at end of selector [TokRParen() TokEOF()]'],
    ['a in {"b"} x', 'unexpected content at end of selector [TokLabel(x) TokEOF()]'],
    ['a ("b")', 'expected == or != not: TokLParen()'],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseSelector(text), (error: unknown) => error instanceof SelectorParseError && error.message === message, text);
  }
});

test('canonical forms (parser_test.go canonicalisationTests) round-trip', () => {
  const cases: [string, string][] = [
    ['', 'all()'],
    [' all() ', 'all()'],
    [' (all() )', 'all()'],
    ['! (has( b)||! has(a ))', '!(has(b) || !has(a))'],
    ['! (a == "b"&&! c != "d")', '!(a == "b" && !c != "d")'],
    [`a == "'"`, `a == "'"`],
    [`a == '"'`, `a == '"'`],
    [`a contains '"'`, `a contains '"'`],
    [`a contains "'"`, `a contains "'"`],
    [`a startswith '"'`, `a starts with '"'`],
    [`a endswith "'"`, `a ends with "'"`],
    [`a!='"'`, `a != '"'`],
    ['a in {"d"}', 'a in {"d"}'],
    ['a in {"a", "b"}', 'a in {"a", "b"}'],
    ['a in {"d", "a", "b"}', 'a in {"a", "b", "d"}'],
    ['a in {"z", "x", "y", "a"}', 'a in {"a", "x", "y", "z"}'],
    ['a in {"z", "z", "x", "y", "x", "a"}', 'a in {"a", "x", "y", "z"}'],
  ];
  for (const [input, expected] of cases) {
    const canonical = parseSelector(input).text;
    assert.equal(canonical, expected, input);
    assert.equal(parseSelector(canonical).text, canonical);
  }
});

test('the prefix visitor (parser_test.go Visitor tests) renames every label', () => {
  const cases: [string, string][] = [
    ["k == 'v'", 'visited/k == "v"'],
    ["k != 'v'", 'visited/k != "v"'],
    ["k contains 'v'", 'visited/k contains "v"'],
    ["k starts with 'v'", 'visited/k starts with "v"'],
    ["k ends with 'v'", 'visited/k ends with "v"'],
    ["k == 'v' && x == 'y'", '(visited/k == "v" && visited/x == "y")'],
    ["k == 'v' || has(x)", '(visited/k == "v" || has(visited/x))'],
    ["!(k == 'v')", '!visited/k == "v"'],
    ["k in {'v'}", 'visited/k in {"v"}'],
    ["k not in {'v'}", 'visited/k not in {"v"}'],
    ["!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))", '!(!((visited/k == "v" && has(visited/t)) || all()) && visited/a in {"b", "c"})'],
  ];
  for (const [input, expected] of cases) assert.equal(withLabelPrefix(parseSelector(input), 'visited/').text, expected, input);
});
