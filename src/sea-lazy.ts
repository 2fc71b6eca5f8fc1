// The host binary's second bundle (scripts/sea.ts, bundleForSnapshot): the
// modules start-up never evaluates — the Kubernetes client, Calico's logic,
// yaml — kept out of the startup snapshot, which V8 loads whole, source
// included, on every start. The snapshot's bundle calls lazyModule() where
// the code says `await import(…)`; the first call compiles this bundle from
// the binary's SEA assets, with the V8 code cache made at build time.
import { Buffer } from 'node:buffer';
import { getAsset } from 'node:sea';
import { Script } from 'node:vm';

export const LAZY_ASSET = 'kubectl-calico-lazy.cjs';
export const LAZY_CACHE_ASSET = 'kubectl-calico-lazy.cache';

/** Module name → a function evaluating it (once) and returning its exports. */
export type ModuleTable = Record<string, () => unknown>;

/** How the lazy bundle is wrapped: the modules both bundles import come from `shared`, as one instance. */
type LazyBundle = (require: (id: string) => unknown, module: { exports: ModuleTable }, exports: ModuleTable, shared: (name: string) => unknown) => void;

let lazyModules: ModuleTable | undefined;

/** The exports of a module of the lazy bundle; `shared` holds the snapshot's modules it imports. */
export function lazyModule(name: string, shared: ModuleTable): unknown {
  lazyModules ??= load(shared);
  return lazyModules[name]!();
}

function load(shared: ModuleTable): ModuleTable {
  const script = new Script(getAsset(LAZY_ASSET, 'utf8'), { filename: LAZY_ASSET, cachedData: Buffer.from(getAsset(LAZY_CACHE_ASSET)) });
  const module = { exports: {} as ModuleTable };
  (script.runInThisContext() as LazyBundle)(requireBuiltin, module, module.exports, (name) => shared[name]!());
  return module.exports;
}

/** Everything but Node's own modules was bundled: another name is an optional dependency that is absent. */
function requireBuiltin(id: string): unknown {
  const found = process.getBuiltinModule(id);
  if (found === undefined) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  return found;
}
