// Preloaded into dist/kubectl-calico by scripts/sea.ts (fillLazyCodeCache),
// with NODE_OPTIONS=--require: V8 takes a code cache only from an isolate
// deserialized from the very snapshot that will use it, and two snapshot
// builds never come out the same, so the binary makes its lazy bundle's code
// cache itself. With KUBECTL_CALICO_CODE_CACHE_OUT it writes the cache there;
// without, it exits 0 when the cache it carries is accepted and 1 when not.
// Either way it stops before any command runs.
const fs = require('node:fs');
const { getAsset } = require('node:sea');
const { Script } = require('node:vm');

const { KUBECTL_CALICO_LAZY_ASSET: source, KUBECTL_CALICO_LAZY_CACHE_ASSET: cache, KUBECTL_CALICO_CODE_CACHE_OUT: out } = process.env;
if (out) {
  fs.writeFileSync(out, new Script(getAsset(source, 'utf8'), { filename: source }).createCachedData());
  process.exit(0);
}
const script = new Script(getAsset(source, 'utf8'), { filename: source, cachedData: Buffer.from(getAsset(cache)) });
process.exit(script.cachedDataRejected ? 1 : 0);
