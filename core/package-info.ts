import * as fs from 'fs';
import * as path from 'path';

/** This package's root folder (where package.json, models/ and configs/ are), name and version. */
export interface PackageInfo {
  root: string;
  name: string;
  version: string;
}

let cached: PackageInfo | undefined;

/**
 * Found by walking up from this file to the package.json named score-sde, so it is the same from
 * the sources (core/), the build (dist/core/) and an installed copy (node_modules/score-sde/...).
 */
export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'score-sde') {
        cached = { root: dir, name: pkg.name, version: pkg.version ?? '0.0.0' };
        return cached;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return { root: process.cwd(), name: 'score-sde', version: 'unknown' };
    dir = parent;
  }
}
