// The only place that loads the addon (build/Release/tapbond.node, built by node-gyp).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './types.js';

let cached: NativeBinding | undefined;

/** Loads the native binding once. Throws a clear error when it was not built. */
export function loadBinding(): NativeBinding {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  // src/native or dist/native -> package root
  const root = join(here, '..', '..');
  const candidates = [join(root, 'build', 'Release', 'tapbond.node'), join(root, 'build', 'Debug', 'tapbond.node')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new Error(`tapbond native addon not built (looked for ${candidates.join(', ')}): run \`npm run build\``);
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeBinding;
  return cached;
}
