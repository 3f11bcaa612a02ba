// ALOFT_HOME/keymap.yaml: `command.id: key` or `command.id: [key, key]` replaces that command's keys.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { UserError } from '../../util/errors.js';
import { errnoCode } from '../../util/process.js';
import { COMMANDS, defaultKeymap, displayKey, isCommandId, keymapConflicts, normalizeKey, type CommandId } from './commands.js';

export class KeymapError extends UserError {
  constructor(message: string) {
    super(message, 'KEYMAP');
  }
}

export function keymapPath(home: string): string {
  return join(home, 'keymap.yaml');
}

/** A keymap as loaded, with the warnings about bindings it did not take. */
export type LoadedKeymap = Map<CommandId, readonly string[]> & { warnings: string[] };

const loadedDefaults = (): LoadedKeymap => Object.assign(defaultKeymap(), { warnings: [] as string[] });

export function parseKeymap(text: string, source = 'keymap.yaml'): LoadedKeymap {
  const km = loadedDefaults();
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new KeymapError(`${source}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return km;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new KeymapError(`${source}: expected a mapping of command: key`);
  const changed: CommandId[] = [];
  for (const [id, val] of Object.entries(doc as Record<string, unknown>)) {
    if (!isCommandId(id)) throw new KeymapError(`${source}: unknown command "${id}" (see ? in aloft top for the list)`);
    // A bare digit (`logs.rank1: 1`) is read by YAML as a number: it is still that key.
    const list = (Array.isArray(val) ? val : [val]).map((k) => (typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= 9 ? String(k) : k));
    if (list.some((k) => typeof k !== 'string' || k.trim() === '')) {
      throw new KeymapError(`${source}: ${id} must be a key or a list of keys`);
    }
    km.set(id, (list as string[]).map(normalizeKey));
    changed.push(id);
  }
  // A key bound to two commands live in the same view would only ever run one of them: the
  // command the file changed gets its default keys back (the later one when the file set both).
  for (;;) {
    const [conflict] = keymapConflicts(km);
    if (!conflict) break;
    const [key, a, b] = conflict;
    const revert = changed.lastIndexOf(a) > changed.lastIndexOf(b) ? a : b;
    const other = revert === a ? b : a;
    if (!changed.includes(revert)) break; // two defaults: cannot happen (a test holds the defaults apart)
    changed.splice(changed.indexOf(revert), 1);
    const defaults = COMMANDS[revert].keys;
    km.set(revert, defaults);
    km.warnings.push(
      `${source}: ${displayKey(key)} is bound to both ${revert} and ${other}; ${revert} keeps its default (${defaults.map(displayKey).join(' ')})`,
    );
  }
  return km;
}

/** Defaults, overridden by ALOFT_HOME/keymap.yaml when it exists. */
export function loadKeymap(home: string): LoadedKeymap {
  const path = keymapPath(home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return loadedDefaults();
    throw new KeymapError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseKeymap(text, path);
}
