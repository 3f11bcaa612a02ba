// ALOFT_HOME/config.yaml: SkyPilot's config format (~/.sky/config.yaml). Read with positions and
// checked by zod like a task YAML, so any mistake is one line `PATH:line:col: ...` (unknown keys
// with a did-you-mean). The CLI checks it before talking to the daemon; the daemon reads it through
// the same function, so both report a broken file the same way.
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { SpecError, nearest } from './errors.js';
import { pathString } from './patterns.js';
import { validateDocument, type Vocabulary } from './validate.js';
import { loadDocuments, type Path } from './yaml.js';

export interface AloftConfig {
  /** `allowed_infra` (or SkyPilot's `allowed_clouds`): infra patterns plans may use */
  allowedInfra?: string[];
  /** `local.spot_mtbp_seconds`: mean time between random preemptions of local spot clusters */
  spotMtbpSeconds?: number;
  /** `local.namespaces`: false keeps new local nodes on this machine's filesystem and network */
  localNamespaces?: boolean;
}

const msg = (error: string) => ({ error });

/** SkyPilot config sections aloft accepts (so a copied ~/.sky/config.yaml loads) but does not use. */
export const SKYPILOT_ONLY_KEYS = [
  'api_server', 'jobs', 'docker', 'nvidia_gpus', 'admin_policy', 'provision', 'serve', 'workspaces',
  'active_workspace', 'bucket', 'daemons', 'db', 'logs', 'kubernetes', 'ssh', 'aws', 'gcp', 'azure',
  'oci', 'nebius', 'lambda', 'runpod', 'vast', 'slurm', 'seeweb', 'primeintellect', 'rcc',
] as const;

const LOCAL_KEYS = ['spot_mtbp_seconds', 'namespaces'] as const;
const infraList = z.array(z.string(msg('expected an infra name such as "aws" or "ssh/POOL"')), msg('expected a list of infra names'));

export const ConfigSchema = z.strictObject(
  {
    allowed_infra: infraList.nullable().optional(),
    allowed_clouds: infraList.nullable().optional(),
    local: z
      .strictObject(
        {
          spot_mtbp_seconds: z
            .number(msg('expected a number of seconds'))
            .positive(msg('expected a positive number of seconds'))
            .nullable()
            .optional(),
          namespaces: z.boolean(msg('expected true or false')).nullable().optional(),
        },
        msg('expected a mapping'),
      )
      .nullable()
      .optional(),
    ...Object.fromEntries(SKYPILOT_ONLY_KEYS.map((k) => [k, z.unknown().optional()])),
  },
  msg('expected a mapping'),
);

export const CONFIG_KEYS: readonly string[] = ['allowed_infra', 'allowed_clouds', 'local', ...SKYPILOT_ONLY_KEYS];

function knownKeys(path: Path): readonly string[] {
  if (path.length === 0) return CONFIG_KEYS;
  if (path.length === 1 && path[0] === 'local') return LOCAL_KEYS;
  return [];
}

const CONFIG_VOCABULARY: Vocabulary = {
  root: 'config',
  unknownField(path, key) {
    const near = nearest(key, knownKeys(path));
    return `unknown field '${key}' in ${path.length ? pathString(path) : 'config'}${near ? `; did you mean '${near}'?` : ''}`;
  },
};

/** Parses and checks config text; throws a one-line SpecError `file:line:col: ...`. */
export function parseConfig(text: string, file: string): AloftConfig {
  const docs = loadDocuments(text, file);
  if (docs.length > 1) throw new SpecError('config.yaml must be a single YAML document (found `---`)', docs[1]!.start());
  const doc = docs[0];
  const raw = doc?.toJS() ?? null;
  if (raw === null || raw === undefined) return {};
  const d = validateDocument(ConfigSchema, raw, doc!, CONFIG_VOCABULARY);
  const out: AloftConfig = {};
  const allowed = d.allowed_infra ?? d.allowed_clouds;
  if (allowed) out.allowedInfra = allowed;
  if (d.local?.spot_mtbp_seconds) out.spotMtbpSeconds = d.local.spot_mtbp_seconds;
  if (typeof d.local?.namespaces === 'boolean') out.localNamespaces = d.local.namespaces;
  return out;
}

let memo: { path: string; mtimeMs: number; size: number; config: AloftConfig } | undefined;

/** ALOFT_HOME/config.yaml, checked; {} when there is none. Re-read only when the file changes. */
export function loadConfig(path: string): AloftConfig {
  let st;
  try {
    st = statSync(path);
  } catch {
    return {};
  }
  if (memo && memo.path === path && memo.mtimeMs === st.mtimeMs && memo.size === st.size) return memo.config;
  const config = parseConfig(readFileSync(path, 'utf8'), path);
  memo = { path, mtimeMs: st.mtimeMs, size: st.size, config };
  return config;
}
