// ALOFT_HOME/ssh_node_pools.yaml, in SkyPilot's format:
//
//   my-pool:
//     user: ubuntu                 # pool-level defaults for every host
//     identity_file: ~/.ssh/id_ed25519
//     port: 22
//     shared: true                 # aloft extension: several clusters may use one host at once
//     hosts:
//       - 10.0.0.1                 # a string: ip or hostname (also user@host and host:port)
//       - ip: 10.0.0.2             # or a mapping overriding the pool's defaults
//         user: admin
//         port: 2222
//         identity_file: ~/.ssh/other
//         password: secret         # only when no key can be used
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';
import { aloftHome } from '../../util/paths.js';

export const POOLS_FILE = 'ssh_node_pools.yaml';

export function poolsPath(home = aloftHome()): string {
  return join(home, POOLS_FILE);
}

const port = z.number().int().min(1).max(65535);
const text = z.string().min(1);

const hostObject = z
  .object({
    ip: text,
    user: text.optional(),
    identity_file: text.optional(),
    port: port.optional(),
    password: z.string().optional(),
  })
  .strict();

const poolSchema = z
  .object({
    hosts: z.array(z.union([text, hostObject])).min(1, 'a pool needs at least one host'),
    user: text.optional(),
    identity_file: text.optional(),
    port: port.optional(),
    password: z.string().optional(),
    shared: z.boolean().optional(),
  })
  .strict();

const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const fileSchema = z.record(
  z.string().regex(POOL_NAME, 'pool names use letters, digits, ".", "_" and "-"'),
  poolSchema,
);

/** One host of a pool with every default applied. */
export interface PoolHost {
  pool: string;
  /** position in the pool's host list */
  index: number;
  ip: string;
  port: number;
  user: string;
  identityFile?: string;
  password?: string;
  /** user@ip:port: identifies the host in reservations */
  key: string;
}

export interface Pool {
  name: string;
  shared: boolean;
  hosts: PoolHost[];
}

export class PoolsFileError extends UserError {
  constructor(message: string) {
    super(message, 'SSH_POOLS');
    this.name = 'PoolsFileError';
  }
}

function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return p;
}

/** "host", "user@host", "host:port", "user@[v6]:port" */
function parseHostString(s: string): { ip: string; user?: string; port?: number } {
  let rest = s.trim();
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at > 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let port: number | undefined;
  const bracket = rest.match(/^\[(.+)\](?::(\d+))?$/);
  if (bracket) {
    rest = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else {
    const m = rest.match(/^([^:]+):(\d+)$/);
    if (m) {
      rest = m[1]!;
      port = Number(m[2]);
    }
  }
  return { ip: rest, user, port };
}

function position(doc: Document, lc: LineCounter, path: PropertyKey[]): string {
  // The deepest node of the path that exists: a missing field is reported at its parent mapping.
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true)) as
      | { range?: [number, number, number] }
      | null
      | undefined;
    if (node && typeof node === 'object' && node.range) {
      const { line, col } = lc.linePos(node.range[0]);
      return `${line}:${col}`;
    }
  }
  return '1:1';
}

function keyPosition(doc: Document, lc: LineCounter, path: PropertyKey[], key: string): string | undefined {
  const parent = doc.getIn(path as unknown[], true);
  if (!isMap(parent)) return undefined;
  for (const item of parent.items) {
    const k = item.key as { value?: unknown; range?: [number, number, number] } | null;
    if (k && k.value === key && k.range) {
      const { line, col } = lc.linePos(k.range[0]);
      return `${line}:${col}`;
    }
  }
  return undefined;
}

/** Parses and validates the pools file text; `file` names it in errors. */
export function parsePools(source: string, file = POOLS_FILE): Map<string, Pool> {
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lc.linePos(e.pos[0]);
    throw new PoolsFileError(`${file}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PoolsFileError(`${file}:1:1: expected a mapping of pool name → {hosts: [...]}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    let where = position(doc, lc, issue.path);
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      where = keyPosition(doc, lc, issue.path, key) ?? where;
      msg = `unknown field '${key}'`;
    } else if (issue.code === 'invalid_type' && doc.getIn(issue.path as unknown[]) === undefined) {
      msg = `missing field '${String(issue.path[issue.path.length - 1])}'`;
    } else if (issue.code === 'invalid_union') {
      msg = 'a host is an address string or a mapping with ip (and user, port, identity_file, password)';
    } else if (issue.code === 'invalid_key') {
      msg = 'pool names use letters, digits, ".", "_" and "-"';
    }
    const at = issue.path.length ? ` (${issue.path.join('.')})` : '';
    throw new PoolsFileError(`${file}:${where}: ${msg}${at}`);
  }
  const pools = new Map<string, Pool>();
  const me = userInfo().username;
  for (const [name, p] of Object.entries(parsed.data)) {
    const seen = new Set<string>();
    const hosts = p.hosts.map((h, index): PoolHost => {
      const o = typeof h === 'string' ? parseHostString(h) : h;
      const ho = typeof h === 'string' ? undefined : h;
      const user = o.user ?? p.user ?? me;
      const hostPort = o.port ?? p.port ?? 22;
      const idf = ho?.identity_file ?? p.identity_file;
      const key = `${user}@${o.ip}:${hostPort}`;
      if (seen.has(key)) {
        throw new PoolsFileError(`${file}:${position(doc, lc, [name, 'hosts', index])}: host ${key} is listed twice in pool '${name}'`);
      }
      seen.add(key);
      return {
        pool: name,
        index,
        ip: o.ip,
        port: hostPort,
        user,
        identityFile: idf ? expandHome(idf) : undefined,
        password: ho?.password ?? p.password,
        key,
      };
    });
    pools.set(name, { name, shared: p.shared ?? false, hosts });
  }
  return pools;
}

/** Reads ALOFT_HOME/ssh_node_pools.yaml; a missing file is an empty set of pools. */
export function loadPools(home = aloftHome()): Map<string, Pool> {
  const path = poolsPath(home);
  if (!existsSync(path)) return new Map();
  return parsePools(readFileSync(path, 'utf8'), path);
}

export function getPool(name: string, home = aloftHome()): Pool {
  const pools = loadPools(home);
  const pool = pools.get(name);
  if (!pool) {
    const known = [...pools.keys()];
    throw new PoolsFileError(
      known.length === 0
        ? `no ssh node pools are defined: create ${poolsPath(home)} with a pool named '${name}' (see README, "SSH node pools")`
        : `ssh node pool '${name}' is not in ${poolsPath(home)} (pools: ${known.join(', ')})`,
    );
  }
  return pool;
}
