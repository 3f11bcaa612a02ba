// Patterns and path formatting shared by the YAML validator and the flag parsers. Kept free of
// zod so `aloft exec CLUSTER -- CMD` can build a task without loading the schema library.
import type { Path } from './yaml.js';

export const QUANTITY_RE = /^\s*\d+(\.\d+)?\s*\+?\s*$/;
export const SIZE_RE = /^\s*\d+(\.\d+)?\s*([kKmMgGtTpP][iI]?[bB]?)?\s*\+?\s*$/;
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `resources.any_of[0].cpus`, `file_mounts["/data"]` */
export function pathString(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || 'task';
}
