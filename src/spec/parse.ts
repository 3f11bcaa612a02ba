// Entry points: a task YAML file or text → TaskChain. One document is one task; several
// documents (`---`) are a pipeline whose tasks run one after another, and whose first document
// may be only `name: pipeline-name`.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
    if (statSync(path).isDirectory()) throw new SpecError(`${path}: is a directory, not a task YAML`);
    text = readFileSync(path, 'utf8');
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

export function parseTaskText(text: string, sourceName: string, opts: ParseOptions = {}): TaskChain {
  // an empty document (a trailing `---`, or only comments) is not a task
  const docs = loadDocuments(text, sourceName)
    .map((doc) => ({ doc, raw: doc.toJS() }))
    .filter((d) => d.raw !== null && d.raw !== undefined);
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

