// Tables laid out exactly as kubectl lays them out (cli-runtime's printers on
// liggitt/tabwriter: minwidth 6, padding 3, the last column never padded,
// widths counted in code points with colour codes left out). cli-table3 was
// tried and cannot do it: it pads by terminal display width (CJK cells move)
// and pads the last column, so kubectl-calico writes its own.

/** A meta.k8s.io/v1 Table as the API server returns it. */
export interface ServerTable {
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  columnDefinitions: { name: string; type: string; format: string; priority: number }[];
  rows: { cells: unknown[]; object?: { metadata?: { name?: string; namespace?: string } } }[];
}

export interface TableOptions {
  /** -o wide: also the columns of priority > 0. */
  wide?: boolean;
  noHeaders?: boolean;
  /** -A: a NAMESPACE column first, from each row's object. */
  withNamespace?: boolean;
  /** Colours a cell for a terminal; widths ignore the codes it adds. */
  decorate?: (column: string, text: string) => string;
  /** Several kinds in one listing (`kubectl get daemonsets,deployments`): names become `daemonset.apps/<name>`. */
  kind?: string;
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Width as kubectl counts it: code points, without colour codes. */
export function width(text: string): number {
  let n = 0;
  for (const _ of text.replace(ANSI, '')) n++;
  return n;
}

/** Cells joined kubectl's way; every line must have the same number of cells. */
export function tabwrite(lines: string[][]): string {
  const columns = Math.max(0, ...lines.map((l) => l.length));
  const widths: number[] = [];
  for (let j = 0; j < columns - 1; j++) widths[j] = Math.max(6, 3 + Math.max(0, ...lines.map((l) => width(l[j] ?? ''))));
  return lines
    .map((line) => line.map((cell, j) => (j < line.length - 1 ? cell + ' '.repeat(widths[j]! - width(cell)) : cell)).join('') + '\n')
    .join('');
}

/** A cell's JSON value as kubectl prints it (cli-runtime printers, Go's fmt for numbers). */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') {
    const cut = value.search(/[\n\r\f]/);
    return (cut >= 0 ? `${value.slice(0, cut)}...` : value).replace(/\x1b/g, '^[');
  }
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'boolean') return String(value);
  return goValue(value).replace(/\x1b/g, '^[');
}

function goNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  return String(value).replace(/e([+-])(\d)$/, 'e$10$2');
}

function goValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  if (value && typeof value === 'object') {
    return `map[${Object.keys(value).sort().map((k) => `${k}:${goValue((value as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return typeof value === 'number' ? goNumber(value) : String(value);
}

/** The lines of a server Table, as `kubectl get` prints them. */
export function renderServerTable(table: ServerTable, options: TableOptions = {}): string {
  const visible = table.columnDefinitions.map((c, i) => ({ ...c, index: i })).filter((c) => options.wide || c.priority === 0);
  const header = [...(options.withNamespace ? ['NAMESPACE'] : []), ...visible.map((c) => c.name.toUpperCase())];
  const decorate = options.decorate ?? ((_column: string, text: string) => text);
  const nameColumn = options.kind ? visible.find((c) => c.format === 'name' && c.type === 'string') : undefined;
  const rows = table.rows.map((row) => [
    ...(options.withNamespace ? [row.object?.metadata?.namespace ?? ''] : []),
    ...visible.map((c) => decorate(c.name, `${c === nameColumn ? `${options.kind}/` : ''}${formatCell(row.cells[c.index])}`)),
  ]);
  if (rows.length === 0) return '';
  return tabwrite(options.noHeaders ? rows : [header, ...rows]);
}

/** A server Table as records keyed by lower-camel column name, for JSON and YAML output. */
export function tableRecords(table: ServerTable, options: { wide?: boolean; withNamespace?: boolean } = {}): Record<string, unknown>[] {
  const visible = table.columnDefinitions.map((c, i) => ({ ...c, index: i })).filter((c) => options.wide || c.priority === 0);
  return table.rows.map((row) => Object.fromEntries([
    ...(options.withNamespace ? [['namespace', row.object?.metadata?.namespace ?? '']] : []),
    ...visible.map((c) => [camel(c.name), row.cells[c.index] ?? null]),
  ]));
}

function camel(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase())).join('');
}
