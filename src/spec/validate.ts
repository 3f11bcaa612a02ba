// Runs the Zod schema over one YAML document and turns the first problem (in file order) into a
// one-line SpecError: unknown fields get a did-you-mean, wrong types say what was expected and
// what was found.
import type { z } from 'zod';
import { SpecError, describeValue, nearest, type SourcePos } from './errors.js';
import {
  ACCELERATOR_ARGS_KEYS,
  AUTOSTOP_KEYS,
  CANDIDATE_KEYS,
  JOB_RECOVERY_KEYS,
  RESOURCE_KEYS,
  STORAGE_KEYS,
  STORAGE_CONFIG_KEYS,
  MOUNT_CACHED_KEYS,
  TASK_KEYS,
  TaskSchema,
  WORKDIR_KEYS,
  type RawTask,
} from './schema.js';
import type { Path, SourceDoc } from './yaml.js';
import { LOAD_BALANCER_KEYS, READINESS_KEYS, REPLICA_POLICY_KEYS, SERVICE_KEYS, SERVICE_POOL_KEYS, TLS_KEYS } from './service-schema.js';

import { pathString } from './patterns.js';
export { pathString };

export function getIn(obj: unknown, path: Path): unknown {
  let cur = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function knownKeys(path: Path): readonly string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return TASK_KEYS;
  if (path.length === 1 && last === 'resources') return RESOURCE_KEYS;
  if (path.length === 1 && last === 'workdir') return WORKDIR_KEYS;
  if (path[0] === 'resources' && (path[1] === 'any_of' || path[1] === 'ordered') && path.length === 3) return CANDIDATE_KEYS;
  if (last === 'autostop') return AUTOSTOP_KEYS;
  if (last === 'job_recovery' || last === 'spot_recovery') return JOB_RECOVERY_KEYS;
  if (last === 'accelerator_args') return ACCELERATOR_ARGS_KEYS;
  if (path[0] === 'file_mounts' && path.length === 2) return STORAGE_KEYS;
  if (path[0] === 'file_mounts' && path.length === 3 && last === 'config') return STORAGE_CONFIG_KEYS;
  if (path[0] === 'file_mounts' && path.length === 4 && last === 'mount_cached') return MOUNT_CACHED_KEYS;
  if (path[0] === 'service') {
    if (path.length === 1) return SERVICE_KEYS;
    if (path.length === 2) {
      const section: Record<string, readonly string[]> = {
        readiness_probe: READINESS_KEYS,
        replica_policy: REPLICA_POLICY_KEYS,
        tls: TLS_KEYS,
        load_balancer: LOAD_BALANCER_KEYS,
        pool: SERVICE_POOL_KEYS,
      };
      return section[String(last)] ?? [];
    }
  }
  return [];
}

function unknownFieldReason(path: Path, key: string): string {
  const where = path.length === 0 ? 'task' : pathString(path);
  const known = knownKeys(path);
  if (path.length === 1 && path[0] === 'service' && REPLICA_POLICY_KEYS.includes(key)) {
    return `unknown field '${key}' in service; it belongs under 'replica_policy:'`;
  }
  const near = nearest(key, known);
  if (near) return `unknown field '${key}' in ${where}; did you mean '${near}'?`;
  // a resource field written at the top level, or a task field inside resources
  if (path.length === 0 && RESOURCE_KEYS.includes(key)) return `unknown field '${key}' in task; it belongs under 'resources:'`;
  if (path.length > 0 && path[0] === 'resources' && TASK_KEYS.includes(key)) {
    return `unknown field '${key}' in ${where}; '${key}' is a task field: move it to the top level`;
  }
  return `unknown field '${key}' in ${where}`;
}

interface Found {
  pos: SourcePos;
  reason: string;
}

/** What a kind of document (a task, config.yaml) calls its top level and its unknown fields. */
export interface Vocabulary {
  /** the top level's name in messages ("task", "config") */
  root: string;
  unknownField(path: Path, key: string): string;
}

const TASK_VOCABULARY: Vocabulary = { root: 'task', unknownField: unknownFieldReason };

function issueProblems(issue: z.core.$ZodIssue, raw: unknown, doc: SourceDoc, vocab: Vocabulary, base: Path = []): Found[] {
  const path = [...base, ...(issue.path as (string | number)[])];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ pos: doc.pos([...path, k], 'key'), reason: vocab.unknownField(path, k) }));
  }
  if (issue.code === 'invalid_union') {
    // When the value has the right shape for one alternative (e.g. a mapping for autostop), that
    // alternative's own complaint (a misspelled key) says more than "expected one of ...".
    const inner = issue.errors.flat().filter((i) => !(i.code === 'invalid_type' && i.path.length === 0));
    if (inner.length > 0) return inner.flatMap((i) => issueProblems(i, raw, doc, vocab, path));
  }
  const value = getIn(raw, path);
  const missingValue = value === null || value === undefined;
  const got = missingValue ? 'nothing' : describeValue(value);
  const where = path.length ? pathString(path) : vocab.root;
  return [{ pos: doc.pos(path, missingValue ? 'key' : 'value'), reason: `${where}: ${cleanMessage(issue)}, got ${got}` }];
}

function cleanMessage(issue: z.core.$ZodIssue): string {
  // Our schemas set a message on every check; this catches any that slipped through.
  if (/^Invalid input: expected (\w+)/.test(issue.message)) {
    const m = /^Invalid input: expected (\w+)/.exec(issue.message)!;
    return `expected ${m[1] === 'object' ? 'a mapping' : m[1] === 'array' ? 'a list' : `a ${m[1]}`}`;
  }
  if (/^Invalid/.test(issue.message)) return 'not a valid value here';
  return issue.message;
}

const before = (a: SourcePos, b: SourcePos) => a.line < b.line || (a.line === b.line && a.col < b.col);

/** Checks one document's raw value against `schema`; throws its first problem in file order. */
export function validateDocument<T>(schema: z.ZodType<T>, raw: unknown, doc: SourceDoc, vocab: Vocabulary): T {
  const res = schema.safeParse(raw);
  if (res.success) return res.data;
  let first: Found | undefined;
  for (const issue of res.error.issues) {
    for (const f of issueProblems(issue, raw, doc, vocab)) if (!first || before(f.pos, first.pos)) first = f;
  }
  throw new SpecError(first?.reason ?? `invalid ${vocab.root}`, first?.pos ?? doc.start());
}

/** Validates one task document's raw value; throws the first problem in file order. */
export function validateTask(raw: unknown, doc: SourceDoc): RawTask {
  return validateDocument(TaskSchema, raw, doc, TASK_VOCABULARY);
}
