// Reads YAML text into documents that remember where every key and value came from, so that
// later checks can say `file:line:col`.
import {
  type Document,
  LineCounter,
  type Node,
  type Pair,
  type ScalarTag,
  type YAMLMap,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  visit,
} from 'yaml';
import { MAX_ALIASES } from '../protocol/limits.js';
import { SpecError, type SourcePos } from './errors.js';

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

// SkyPilot reads YAML with PyYAML, where `yes`/`no`/`on`/`off` are booleans (`use_spot: yes`).
// The full YAML 1.1 schema would also turn `y`/`n` into booleans, which PyYAML does not.
const pyBool: ScalarTag = {
  tag: 'tag:yaml.org,2002:bool',
  default: true,
  test: /^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$/,
  resolve: (s: string) => /^(?:y|Y|o[nN]|O[nN])/.test(s),
};

/** One YAML document plus the means to point into it. */
export class SourceDoc {
  constructor(
    readonly doc: Document.Parsed,
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  /**
   * The document as plain data. An alias that names no anchor, or more alias expansions than
   * MAX_ALIASES (a "billion laughs"), is a positioned one-line error like any other.
   */
  toJS(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      if (!(err instanceof ReferenceError)) throw err;
      const unresolved = /^Unresolved alias[^:]*: (.*)$/.exec(err.message)?.[1];
      const alias = this.firstAlias(unresolved);
      const at = alias?.range ? this.posAt(alias.range[0]) : this.start();
      if (unresolved !== undefined) throw new SpecError(`alias *${unresolved} names no anchor (&${unresolved}) defined before it`, at);
      throw new SpecError(`too many aliases: expanding them takes more than ${MAX_ALIASES} steps (the limit); a YAML "billion laughs"?`, at);
    }
  }

  /** The first alias node (of `name`, when given), in document order. */
  private firstAlias(name?: string): Node | undefined {
    let found: Node | undefined;
    visit(this.doc, {
      Alias: (_, node) => {
        if (name !== undefined && node.source !== name) return undefined;
        found = node;
        return visit.BREAK;
      },
    });
    return found;
  }

  posAt(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Position of the document's start (for problems with the document as a whole). */
  start(): SourcePos {
    const c = this.doc.contents;
    return this.posAt(c?.range?.[0] ?? this.doc.range[0]);
  }

  /** Pairs of each mapping by key text, built on first use: a lookup per key stays O(1). */
  private index = new WeakMap<YAMLMap, Map<string, Pair>>();

  private pairOf(map: YAMLMap, key: string): Pair | undefined {
    let byKey = this.index.get(map);
    if (!byKey) {
      byKey = new Map();
      for (const p of map.items) {
        const k = isPair(p) ? keyText(p.key) : undefined;
        if (k !== undefined && !byKey.has(k)) byKey.set(k, p);
      }
      this.index.set(map, byKey);
    }
    return byKey.get(key);
  }

  /** The value node at `path` and, when the last step is a map key, that key's node. */
  find(path: Path): { key?: Node; value?: Node; parent?: Node } {
    let node: Node | null | undefined = this.doc.contents;
    let key: Node | undefined;
    let parent: Node | undefined;
    for (const seg of path) {
      node = this.deref(node);
      parent = node ?? undefined;
      key = undefined;
      if (isMap(node)) {
        const pair = this.pairOf(node, String(seg));
        if (!pair) return { parent };
        key = pair.key as Node;
        node = pair.value as Node | null;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg] as Node | undefined;
        if (node === undefined) return { parent };
      } else {
        return { parent };
      }
    }
    return { key, value: this.deref(node) ?? undefined, parent };
  }

  /**
   * Where to point for `path`: the key for problems with the key itself (unknown field, missing
   * value), else the value; falls back to the nearest enclosing node that exists.
   */
  pos(path: Path, at: 'key' | 'value' = 'value'): SourcePos {
    for (let n = path.length; n >= 0; n--) {
      const { key, value, parent } = this.find(path.slice(0, n));
      const valueStart = value?.range && value.range[0] < value.range[1] ? value.range[0] : undefined;
      const pick = at === 'key' || n < path.length ? (key?.range?.[0] ?? valueStart) : (valueStart ?? key?.range?.[0]);
      if (pick !== undefined) return this.posAt(pick);
      if (n === 0 && parent?.range) return this.posAt(parent.range[0]);
    }
    return this.start();
  }

  fail(path: Path, reason: string, at: 'key' | 'value' = 'value'): never {
    throw new SpecError(reason, this.pos(path, at));
  }

  /**
   * The scalar at `path` as written: `007` stays "007" and `yes` stays "yes", which is what a user
   * who puts them in an env var expects (YAML would read them as 7 and true).
   */
  sourceText(path: Path): string | undefined {
    const { value } = this.find(path);
    if (isScalar(value)) {
      const src = (value as { source?: unknown }).source;
      if (typeof value.value === 'string') return value.value;
      if (typeof src === 'string' && src !== '') return src;
      return value.value === null || value.value === undefined ? undefined : String(value.value);
    }
    return undefined;
  }

  private deref(node: Node | null | undefined): Node | null | undefined {
    let n = node;
    for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(this.doc) as Node | undefined;
    return n;
  }
}

function keyText(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  if (typeof k === 'string') return k;
  return undefined;
}

/** Splits a YAML stream into documents; a YAML syntax error becomes a one-line SpecError. */
export function loadDocuments(text: string, file: string): SourceDoc[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    customTags: [pyBool],
    prettyErrors: false,
    merge: true, // PyYAML honours `<<: *anchor`
    uniqueKeys: false, // checked in linear time by badKey
    keepSourceTokens: false,
    // Our own checks report what matters, positioned; the library must not print Node warnings.
    logLevel: 'error',
  });
  if (!Array.isArray(docs)) return []; // an empty stream (only comments)
  const out: SourceDoc[] = [];
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const { line, col } = lines.linePos(err.pos[0]);
      throw new SpecError(`invalid YAML: ${yamlReason(err.code, err.message)}`, { file, line, col });
    }
    const bad = badKey(d);
    if (bad) {
      const { line, col } = lines.linePos(bad.at);
      throw new SpecError(bad.reason, { file, line, col });
    }
    out.push(new SourceDoc(d, file, lines));
  }
  return out;
}

/**
 * The first key that is a collection (`? [a, b]`), or that repeats one before it in its mapping.
 * One pass with a set per mapping: the library's own duplicate check compares every key with
 * every other (20,000 envs took 20 s), so it is off (`uniqueKeys: false`) and done here.
 */
function badKey(doc: Document.Parsed): { at: number; reason: string } | undefined {
  let bad: { at: number; reason: string } | undefined;
  visit(doc, {
    Map: (_, map) => {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const k = pair.key;
        if (isCollection(k)) {
          bad = { at: k.range?.[0] ?? 0, reason: 'a mapping key must be a plain name, not a list or mapping' };
          return visit.BREAK;
        }
        const value = isScalar(k) ? k.value : k;
        if (value === '<<' || (typeof value === 'symbol' && value.description === '<<')) continue; // merge keys (`<<: *base`) may repeat
        const id = isScalar(k) ? `${typeof value}:${String(value)}` : k;
        if (seen.has(id)) {
          const name = isScalar(k) ? String(value) : undefined;
          const at = (k as Node | null)?.range?.[0] ?? map.range?.[0] ?? 0;
          bad = { at, reason: `invalid YAML: ${name !== undefined ? `'${name}' appears twice in the same mapping` : 'the same key appears twice in one mapping'}` };
          return visit.BREAK;
        }
        seen.add(id);
      }
      return undefined;
    },
  });
  return bad;
}

function yamlReason(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'TAB_AS_INDENT') return 'tabs cannot indent YAML; use spaces';
  return first.charAt(0).toLowerCase() + first.slice(1);
}
