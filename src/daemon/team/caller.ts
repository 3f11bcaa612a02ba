// Who is asking. The API boundary (server.ts) decides it once per request: the owner of the
// daemon for its unix socket (0600, so only that OS user gets in), the token's user over TCP.
// Everything below records `caller.user` as the owner of what the request creates.
import { userInfo } from 'node:os';
import { UserError } from '../../util/errors.js';

export type Role = 'admin' | 'user';

export interface Caller {
  user: string;
  role: Role;
  /** came in over TCP with a token (false: the daemon's own unix socket) */
  remote: boolean;
  tokenId?: string;
  /** the client's address (X-Forwarded-For only when the server is told to trust it) */
  address?: string;
}

const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

export function validateUserName(name: string): string {
  if (!USER_NAME.test(name)) {
    throw new UserError(`invalid user name '${name}': use 1-32 lowercase letters, digits, '_', '.' or '-', starting with a letter or '_'`);
  }
  return name;
}

/** The OS user the daemon runs as: the owner of everything made through the unix socket. */
export function localUserName(): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER;
  }
  const clean = (name ?? 'local').toLowerCase().replace(/[^a-z0-9_.-]/g, '').slice(0, 32);
  return USER_NAME.test(clean) ? clean : 'local';
}

export function localCaller(): Caller {
  return { user: localUserName(), role: 'admin', remote: false };
}

/** A refusal by the ownership rule (HTTP 403). */
export class Forbidden extends UserError {
  readonly status = 403;
  constructor(message: string) {
    super(message, 'FORBIDDEN');
  }
}

/**
 * The ownership rule: everyone sees everything; changing something (run work on a cluster, stop,
 * start, down, autostop, cancel) is for its owner or an admin. A record made before team mode
 * has no owner: it is the local user's.
 */
export function mayChange(caller: Caller, owner: string | undefined): boolean {
  return caller.role === 'admin' || (owner ?? localUserName()) === caller.user;
}

/** `doIt` says the action with "it": 'tear it down', 'run work on it'. */
export function requireOwner(caller: Caller, owner: string | undefined, what: string, doIt: string): void {
  if (mayChange(caller, owner)) return;
  const who = owner ?? localUserName();
  throw new Forbidden(`${what} belongs to ${who}: only ${who} or an admin may ${doIt}`);
}

export function requireAdmin(caller: Caller, verb: string): void {
  if (caller.role !== 'admin') throw new Forbidden(`only an admin can ${verb}`);
}
