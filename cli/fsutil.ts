import * as fs from 'fs';
import * as path from 'path';

let packageInfo: { root: string; name: string; version: string } | undefined;

/** This package's root folder, name and version (found from this file, in cli/ or dist/cli/). */
export function packageJson(): { root: string; name: string; version: string } {
  if (packageInfo) return packageInfo;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'score-sde') {
        packageInfo = { root: dir, name: pkg.name, version: pkg.version ?? '0.0.0' };
        return packageInfo;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return { root: process.cwd(), name: 'score-sde', version: 'unknown' };
    dir = parent;
  }
}
