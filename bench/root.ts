import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root, whether running from bench/ (ts) or dist/bench/ (compiled). */
export const ROOT = existsSync(path.resolve(__dirname, '..', 'package.json'))
  ? path.resolve(__dirname, '..')
  : path.resolve(__dirname, '..', '..');
