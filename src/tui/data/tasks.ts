// Task YAMLs the launch key offers: the current directory, then examples/ (cwd's and aloft's own).
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

function yamlsIn(dir: string, depth: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (n.startsWith('.') || n === 'node_modules') continue;
    const p = join(dir, n);
    if (/\.ya?ml$/i.test(n)) out.push(p);
    else if (depth > 0) {
      try {
        if (statSync(p).isDirectory()) out.push(...yamlsIn(p, depth - 1));
      } catch {
        /* vanished or unreadable: skip */
      }
    }
  }
  return out;
}

export function listTaskFiles(cwd = process.cwd(), extraDirs: string[] = []): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (files: string[]) => {
    for (const f of files) {
      const r = resolve(f);
      if (!seen.has(r)) {
        seen.add(r);
        out.push(r);
      }
    }
  };
  add(yamlsIn(cwd, 0));
  add(yamlsIn(join(cwd, 'examples'), 1));
  for (const d of extraDirs) add(yamlsIn(d, 1));
  return out.slice(0, 500);
}
