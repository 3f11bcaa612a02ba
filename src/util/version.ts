import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

let cached: string | undefined;

/** aloft's version; ALOFT_VERSION_OVERRIDE lets tests simulate an upgraded CLI. */
export function aloftVersion(): string {
  if (process.env.ALOFT_VERSION_OVERRIDE) return process.env.ALOFT_VERSION_OVERRIDE;
  if (!cached) {
    cached = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  }
  return cached;
}
