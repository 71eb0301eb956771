#!/usr/bin/env node
// Exit 0 when node_modules holds what package-lock.json pins (so `npm ci` can be skipped),
// 1 with the first difference on stderr otherwise. No dependencies: it runs before npm ci.
// Read-only and fast (one small package.json per top-level package, ~50 ms).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function differs() {
  const lockFile = path.join(root, 'package-lock.json');
  if (!existsSync(lockFile)) return 'no package-lock.json';
  if (!existsSync(path.join(root, 'node_modules'))) return 'no node_modules';
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // package.json edited after the lock was written: npm ci would refuse, npm install is needed.
  const declared = { ...pkg.dependencies, ...pkg.devDependencies };
  const locked = { ...lock.packages?.['']?.dependencies, ...lock.packages?.['']?.devDependencies };
  for (const [name, range] of Object.entries(declared)) {
    if (locked[name] !== range) return `package.json wants ${name}@${range}, package-lock.json has ${locked[name] ?? 'nothing'}`;
  }
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    // Top-level packages only: nested ones come with their parent.
    if (!key.startsWith('node_modules/') || key.slice('node_modules/'.length).includes('node_modules/')) continue;
    const manifest = path.join(root, key, 'package.json');
    if (!existsSync(manifest)) {
      if (entry.optional) continue; // platform-specific (e.g. fsevents): absent by design
      return `${key} is missing`;
    }
    const version = JSON.parse(readFileSync(manifest, 'utf8')).version;
    if (version !== entry.version) return `${key} is ${version}, package-lock.json pins ${entry.version}`;
  }
  return undefined;
}

const reason = differs();
if (reason) {
  process.stderr.write(`npm packages not as locked: ${reason}\n`);
  process.exit(1);
}
