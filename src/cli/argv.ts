// kubectl's flags come from pflag, clipanion's parser is stricter. These
// rewrites let users type flags the way they do for kubectl:
//   kubectl calico --context prod version   (flags before the command)
//   -ojson, -v6                             (short flag glued to its value)
//   --client=true / --client=false          (booleans with an explicit value)

export interface FlagSpec {
  /** Flag names that take a value, e.g. `-o`, `--output`. */
  valued: ReadonlySet<string>;
  /** Boolean flag names, e.g. `--client`. */
  booleans: ReadonlySet<string>;
}

/** Builds a FlagSpec from clipanion definitions such as `-o,--output #0`. */
export function flagSpecFrom(definitions: Iterable<string>): FlagSpec {
  const valued = new Set<string>();
  const booleans = new Set<string>();
  for (const definition of definitions) {
    const [names = '', ...rest] = definition.split(' ');
    const target = rest.length > 0 ? valued : booleans;
    for (const name of names.split(',')) target.add(name);
  }
  return { valued, booleans };
}

/**
 * Moves flags given before the command (`--context prod version`) after its
 * path; `pathLength` says how many of the leading words form the command.
 */
export function hoistLeadingFlags(argv: readonly string[], spec: FlagSpec, pathLength: (words: string[]) => number): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--' || !arg.startsWith('-') || arg === '-') break;
    leading.push(arg);
    if (spec.valued.has(arg) && i + 1 < argv.length) leading.push(argv[++i]!);
    i++;
  }
  const rest = argv.slice(i);
  const firstFlag = rest.findIndex((w) => w.startsWith('-'));
  const words = firstFlag < 0 ? rest : rest.slice(0, firstFlag);
  const n = pathLength(words);
  return [...rest.slice(0, n), ...leading, ...rest.slice(n)];
}

/** Rewrites pflag-only spellings into ones clipanion accepts. */
export function normalizeFlags(argv: readonly string[], spec: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const glued = /^(-[a-zA-Z])([^=].*)$/.exec(arg);
    if (glued && spec.valued.has(glued[1]!)) {
      out.push(glued[1]!, glued[2]!);
      continue;
    }
    const bool = /^(--[\w-]+)=(true|false)$/i.exec(arg);
    if (bool && spec.booleans.has(bool[1]!)) {
      out.push(bool[2]!.toLowerCase() === 'true' ? bool[1]! : `--no-${bool[1]!.slice(2)}`);
      continue;
    }
    out.push(arg);
  }
  return out;
}
