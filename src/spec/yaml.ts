// Reads YAML text into documents that remember where every key and value came from, so that
// later checks can say `file:line:col`.
import {
  type Document,
  LineCounter,
  type Node,
  type ScalarTag,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
} from 'yaml';
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

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 1000 });
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
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
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
    keepSourceTokens: false,
  });
  if (!Array.isArray(docs)) return []; // an empty stream (only comments)
  const out: SourceDoc[] = [];
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const { line, col } = lines.linePos(err.pos[0]);
      throw new SpecError(`invalid YAML: ${yamlReason(err.code, err.message, text.slice(err.pos[0], err.pos[0] + 200))}`, { file, line, col });
    }
    out.push(new SourceDoc(d, file, lines));
  }
  return out;
}

function yamlReason(code: string, message: string, here: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') {
    const key = /^\s*["']?([^"':\n]+)/.exec(here)?.[1]?.trim();
    return key ? `'${key}' appears twice in the same mapping` : 'the same key appears twice in one mapping';
  }
  if (code === 'TAB_AS_INDENT') return 'tabs cannot indent YAML; use spaces';
  return first.charAt(0).toLowerCase() + first.slice(1);
}
