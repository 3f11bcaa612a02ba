// Entry points: a task YAML file or text → TaskChain. One document is one task; several
// documents (`---`) are a pipeline whose tasks run one after another, and whose first document
// may be only `name: pipeline-name`.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MAX_DOCUMENTS, MAX_YAML_BYTES } from '../protocol/limits.js';
import { SpecError, describeValue, type SourcePos } from './errors.js';
import { blankTask } from './resources.js';
import { CANDIDATE_KEYS, RESOURCE_KEYS, TASK_KEYS } from './schema.js';
import { normalizeTask } from './task.js';
import type { TaskChain } from './types.js';
import { findUnsupported } from './unsupported.js';
import { validateTask } from './validate.js';
import { loadDocuments, type SourceDoc } from './yaml.js';

export interface ParseOptions {
  /** --env values: fill null envs, override YAML values, add new ones */
  envOverrides?: Record<string, string>;
  /** --secret values, likewise for secrets */
  secretOverrides?: Record<string, string>;
  /** where relative workdir / file-mount sources resolve; default: the current directory (as SkyPilot) */
  baseDir?: string;
  /** where a relative path missing from baseDir is looked for next (parseTaskFile: the YAML's folder) */
  fallbackDir?: string;
  /**
   * Keep features aloft cannot honour yet (buckets, services, docker images, ...) as warnings in
   * `chain.warnings` and leave them out of the tasks, instead of failing. For dry runs.
   */
  allowUnsupported?: boolean;
  /** check that workdir and file-mount sources exist (default true) */
  checkPaths?: boolean;
  /**
   * `aloft serve up/update`: the YAML must have a `service:` section and the task must be one a
   * service can run (replica port known, spot all or nothing, ...); refusals point at the field.
   */
  requireService?: boolean;
}

export function parseTaskFile(path: string, opts: ParseOptions = {}): TaskChain {
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new SpecError(`${path}: is a directory, not a task YAML`);
    if (st.size > MAX_YAML_BYTES) throw new SpecError(tooLarge(path, st.size));
    text = decodeYaml(readFileSync(path), path);
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? (err as Error).message})`);
  }
  return parseTaskText(text, path, { ...opts, fallbackDir: opts.fallbackDir ?? dirname(resolve(path)) });
}

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A first document with nothing but a name (SkyPilot also puts `execution` there for job groups). */
function isPipelineHeader(raw: unknown, total: number): boolean {
  return total > 1 && isMapping(raw) && Object.keys(raw).every((k) => k === 'name' || k === 'execution');
}

/**
 * The file's text: UTF-8, or UTF-16 with a byte-order mark (PyYAML reads both). Bytes that are
 * not UTF-8 are a positioned error rather than replacement characters in a task.
 */
function decodeYaml(buf: Buffer, path: string): string {
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) return Buffer.from(buf.subarray(2, 2 + ((buf.length - 2) & ~1))).swap16().toString('utf16le');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  } catch {
    const text = buf.toString('utf8');
    const bad = text.indexOf('\ufffd');
    const before = text.slice(0, Math.max(0, bad));
    const line = before.split('\n').length;
    const col = bad - before.lastIndexOf('\n');
    throw new SpecError('not valid UTF-8 text (save the file as UTF-8)', { file: path, line, col });
  }
}

const tooLarge = (name: string, bytes: number) =>
  `${name}: ${(bytes / 1024 / 1024).toFixed(1)} MiB; a task YAML may be at most ${MAX_YAML_BYTES / 1024 / 1024} MiB (the limit)`;

export function parseTaskText(text: string, sourceName: string, opts: ParseOptions = {}): TaskChain {
  if (text.length > MAX_YAML_BYTES) throw new SpecError(tooLarge(sourceName, Buffer.byteLength(text)));
  const all = loadDocuments(text, sourceName);
  if (all.length > MAX_DOCUMENTS) {
    throw new SpecError(`${all.length} documents; a YAML may hold at most ${MAX_DOCUMENTS} (the limit), one task each`, all[MAX_DOCUMENTS]!.start());
  }
  // an empty document (a trailing `---`, or only comments) is not a task
  const docs = all.map((doc) => ({ doc, raw: doc.toJS() })).filter((d) => d.raw !== null && d.raw !== undefined);
  const warnings: string[] = [];
  const chain: TaskChain = { tasks: [] };
  const normalizeOpts = {
    envOverrides: opts.envOverrides ?? {},
    secretOverrides: opts.secretOverrides ?? {},
    baseDir: resolve(opts.baseDir ?? process.cwd()),
    ...(opts.fallbackDir ? { fallbackDir: resolve(opts.fallbackDir) } : {}),
    notes: warnings,
    allowUnsupported: opts.allowUnsupported ?? false,
    checkPaths: opts.checkPaths ?? true,
    requireService: opts.requireService ?? false,
  };
  docs.forEach(({ doc, raw }, i) => {
    if (!isMapping(raw)) {
      throw new SpecError(`expected a mapping of task fields (name:, resources:, run: ...), got ${describeValue(raw)}`, doc.start());
    }
    const valid = validateTask(dropEmptyFields(raw), doc);
    checkUnsupported(doc, valid, normalizeOpts.allowUnsupported, warnings);
    if (i === 0 && isPipelineHeader(raw, docs.length)) {
      if (valid.name !== undefined) chain.name = valid.name;
      return;
    }
    chain.tasks.push(normalizeTask(doc, valid, normalizeOpts));
  });
  if (chain.tasks.length === 0) // An empty YAML is a task that runs nothing (SkyPilot launches the cluster only).
    chain.tasks.push(blankTask({ source: sourceName, ...(chain.name !== undefined ? { name: chain.name } : {}) }));
  if (warnings.length > 0) chain.warnings = warnings;
  return chain;
}

function checkUnsupported(doc: SourceDoc, valid: Parameters<typeof findUnsupported>[0], allow: boolean, warnings: string[]): void {
  const uses = findUnsupported(valid)
    .map((u) => ({ ...u, pos: doc.pos(u.path, u.at) }))
    .sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  if (uses.length === 0) return;
  if (!allow) throw new SpecError(uses[0]!.reason, uses[0]!.pos);
  for (const u of uses) warnings.push(formatPos(u.pos, u.reason));
}

/**
 * `file_mounts:` or `cpus:` with nothing after it (often everything below was commented out)
 * means "not set", as in SkyPilot. Unknown fields stay, so typos are still caught.
 */
function dropEmptyFields(raw: Record<string, unknown>): Record<string, unknown> {
  const strip = (o: Record<string, unknown>, known: readonly string[]) => {
    for (const k of Object.keys(o)) if (o[k] === null && known.includes(k)) delete o[k];
  };
  strip(raw, TASK_KEYS);
  const res = raw.resources;
  if (isMapping(res)) {
    strip(res, RESOURCE_KEYS);
    for (const k of ['any_of', 'ordered']) {
      const items = res[k];
      if (Array.isArray(items)) for (const it of items) if (isMapping(it)) strip(it, CANDIDATE_KEYS);
    }
  }
  return raw;
}

const formatPos = (p: SourcePos, reason: string) => `${p.file}:${p.line}:${p.col}: ${reason}`;

