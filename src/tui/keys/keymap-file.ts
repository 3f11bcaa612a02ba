// ALOFT_HOME/keymap.yaml: `command.id: key` or `command.id: [key, key]` replaces that command's keys.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { UserError } from '../../util/errors.js';
import { defaultKeymap, isCommandId, normalizeKey, type CommandId } from './commands.js';

export class KeymapError extends UserError {
  constructor(message: string) {
    super(message, 'KEYMAP');
  }
}

export function keymapPath(home: string): string {
  return join(home, 'keymap.yaml');
}

export function parseKeymap(text: string, source = 'keymap.yaml'): Map<CommandId, readonly string[]> {
  const km = defaultKeymap();
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new KeymapError(`${source}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return km;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new KeymapError(`${source}: expected a mapping of command: key`);
  for (const [id, val] of Object.entries(doc as Record<string, unknown>)) {
    if (!isCommandId(id)) throw new KeymapError(`${source}: unknown command "${id}" (see ? in aloft top for the list)`);
    const list = Array.isArray(val) ? val : [val];
    if (list.some((k) => typeof k !== 'string' || k.trim() === '')) {
      throw new KeymapError(`${source}: ${id} must be a key or a list of keys`);
    }
    km.set(id, (list as string[]).map(normalizeKey));
  }
  return km;
}

/** Defaults, overridden by ALOFT_HOME/keymap.yaml when it exists. */
export function loadKeymap(home: string): Map<CommandId, readonly string[]> {
  const path = keymapPath(home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultKeymap();
    throw new KeymapError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseKeymap(text, path);
}
