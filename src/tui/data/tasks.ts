// Task YAMLs the launch key offers: the current directory, then examples/ (cwd's and aloft's own),
// and completion of a path as it is typed.
import { readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
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

/**
 * What a typed path completes to, shell-like: entries of its directory that start with its last
 * part, directories with a trailing `/` (to go on typing), task YAMLs; hidden ones only when asked.
 */
export function completePath(partial: string, cwd = process.cwd(), home = homedir()): string[] {
  const cut = partial.lastIndexOf('/') + 1;
  const dirTyped = partial.slice(0, cut);
  const base = partial.slice(cut);
  const dirReal = dirTyped.startsWith('~/') ? join(home, dirTyped.slice(2)) : dirTyped || '.';
  let names: string[];
  try {
    names = readdirSync(resolve(cwd, dirReal)).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (!n.startsWith(base) || (n.startsWith('.') && !base.startsWith('.')) || n === 'node_modules') continue;
    let dir = false;
    try {
      dir = statSync(join(resolve(cwd, dirReal), n)).isDirectory();
    } catch {
      continue;
    }
    if (dir) out.push(`${dirTyped}${n}/`);
    else if (/\.ya?ml$/i.test(n)) out.push(`${dirTyped}${n}`);
    if (out.length >= 200) break;
  }
  return out;
}
