// Finding and loading one of our optional N-API addons (native/<name>/build/cell_<name>.node,
// built by scripts/build-native.mjs): shared by the shared-memory and SocketCAN loaders. An addon
// is looked for once per process (thread); when it is absent the status says why and how to fix
// it, and nothing throws.
//
// Environment, per addon: CELL_<NAME>_ADDON=0 forces "absent" (fallback tests);
// CELL_<NAME>_ADDON=/path/x.node loads that file instead of the package's build.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AddonStatus {
  available: boolean;
  /** The .node file loaded or looked for; null when none was looked for (disabled, no package root). */
  path: string | null;
  /** Why it is absent and how to fix that, or which file was loaded. */
  reason: string;
}

export interface AddonSpec {
  /** The folder under native/ ('shm', 'can'). */
  readonly dir: string;
  /** For messages: 'the shared-memory addon'. */
  readonly title: string;
  /** The environment variable that disables or redirects it. */
  readonly envVar: string;
  /** Functions the addon must export. */
  readonly exports: readonly string[];
}

const BUILD_HINT = 'run `npm run build:native` (needs a C compiler: apt-get install build-essential)';

/** The directory holding the package.json named "cell" above this file (src/ under tsx, dist/ when built). */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'cell') return dir;
      } catch { /* not a readable package.json: keep walking */ }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Load the addon `spec` describes: the module, or null and why. Call once and cache the result. */
export function loadAddon<T>(spec: AddonSpec): { addon: T | null; status: AddonStatus } {
  const absent = (path: string | null, reason: string) => ({ addon: null, status: { available: false, path, reason } });
  const relative = join('native', spec.dir, 'build', `cell_${spec.dir}.node`);
  const env = process.env[spec.envVar];
  if (env === '0') return absent(null, `${spec.title} is disabled by ${spec.envVar}=0; unset it to use the addon`);

  let path: string;
  if (env !== undefined && env !== '') {
    path = env;
  } else {
    const root = packageRoot();
    if (root === null) return absent(null, `no package.json named "cell" above ${fileURLToPath(import.meta.url)}, so no ${relative}: ${BUILD_HINT} in the cell package`);
    path = join(root, relative);
  }
  if (!existsSync(path)) return absent(path, `${spec.title} ${path} is not built: ${BUILD_HINT}`);

  let raw: Record<string, unknown>;
  try {
    raw = createRequire(import.meta.url)(path) as Record<string, unknown>;
  } catch (err) {
    return absent(path, `${spec.title} ${path} did not load (${(err as Error).message.split('\n')[0]}): rebuild it, ${BUILD_HINT}`);
  }
  const missing = spec.exports.filter((k) => typeof raw[k] !== 'function');
  if (missing.length > 0) return absent(path, `${path} is not ${spec.title} (no ${missing.join(', ')}): ${BUILD_HINT}`);
  return { addon: raw as T, status: { available: true, path, reason: `loaded ${path}` } };
}
