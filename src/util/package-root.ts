import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder holding this package's package.json, found by walking up from this file, so
 * the same code works from `src/` (tests via tsc output in `dist/src/`) and when installed.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schemas'))) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('insight-logs: cannot find the package root (package.json with schemas/)');
    dir = parent;
  }
}
