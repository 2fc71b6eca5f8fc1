// Label selectors as kubectl's -l takes them (`a=b,c!=d,e in (x,y),f,!g`),
// parsed here so a malformed one is a usage error before anything is sent,
// and turned into what a pod spec can say: equalities as a nodeSelector,
// the rest as node affinity expressions.
import { UsageError } from '../cli/errors.ts';

export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: string[];
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && PREFIX.test(prefix) && NAME.test(key.slice(slash + 1));
}

function validValue(value: string): boolean {
  return value === '' || NAME.test(value);
}

/** Parses a label selector; `flag` names it in errors. An empty selector selects everything. */
export function parseLabelSelector(text: string, flag = '--selector'): Requirement[] {
  const bad = (why: string): never => {
    throw new UsageError(`invalid ${flag} "${text}": ${why}`);
  };
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  if (terms.length === 1 && terms[0]!.trim() === '') return [];
  return terms.map((raw) => {
    const term = raw.trim();
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    let requirement: Requirement;
    if (set) {
      const values = set[3]!.split(',').map((v) => v.trim());
      requirement = { key: set[1]!, operator: set[2] === 'in' ? 'In' : 'NotIn', values };
    } else {
      const compared = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
      if (compared) requirement = { key: compared[1]!, operator: compared[2] === '!=' ? 'NotIn' : 'In', values: [compared[3]!] };
      else if (/^![^=!\s]+$/.test(term)) requirement = { key: term.slice(1), operator: 'DoesNotExist', values: [] };
      else if (/^[^=!\s()]+$/.test(term)) requirement = { key: term, operator: 'Exists', values: [] };
      else return bad(`"${term}" is not a requirement such as key=value, key!=value, key in (a,b), key or !key`);
    }
    if (!validKey(requirement.key)) bad(`"${requirement.key}" is not a valid label key`);
    const invalid = requirement.values.find((v) => !validValue(v));
    if (invalid !== undefined) bad(`"${invalid}" is not a valid label value`);
    return requirement;
  });
}

/** Where a pod may run for a node selector: equalities as a nodeSelector, everything else as node affinity expressions. */
export function nodePlacement(requirements: Requirement[]): { nodeSelector: Record<string, string>; matchExpressions: { key: string; operator: string; values?: string[] }[] } {
  const nodeSelector: Record<string, string> = {};
  const matchExpressions: { key: string; operator: string; values?: string[] }[] = [];
  for (const r of requirements) {
    if (r.operator === 'In' && r.values.length === 1 && !(r.key in nodeSelector)) nodeSelector[r.key] = r.values[0]!;
    else matchExpressions.push({ key: r.key, operator: r.operator, ...(r.values.length ? { values: r.values } : {}) });
  }
  return { nodeSelector, matchExpressions };
}

/** The selector in the form the API takes as ?labelSelector=. */
export function formatLabelSelector(requirements: Requirement[]): string {
  return requirements.map((r) => {
    if (r.operator === 'Exists') return r.key;
    if (r.operator === 'DoesNotExist') return `!${r.key}`;
    if (r.values.length === 1) return `${r.key}${r.operator === 'In' ? '=' : '!='}${r.values[0]}`;
    return `${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${r.values.join(',')})`;
  }).join(',');
}
