import { PackageInfo, packageInfo } from '../core/package-info';

/** This package's root folder, name and version (found from this file, in cli/ or dist/cli/). */
export function packageJson(): PackageInfo {
  return packageInfo();
}
