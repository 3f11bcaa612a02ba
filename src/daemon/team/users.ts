// Users and their bearer tokens. A token is 32 random bytes; only its SHA-256 is stored (a token
// has full entropy, so a fast hash is enough: nothing to brute-force), and a token is looked up
// by that hash. Revoked tokens stay listed, refused.
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { TokenInfo, UserInfo } from '../../protocol/api.js';
import { UserError } from '../../util/errors.js';
import type { Db } from '../db.js';
import { validateUserName, type Role } from './caller.js';

/** A user and a token as stored, which is what the API lists (tokens by their id, never the secret). */
export type UserRecord = UserInfo;
export type TokenRecord = TokenInfo;

/** How often a token's last use is written (not on every request: that would be a write each). */
const TOUCH_EVERY_MS = 60_000;

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export class Users {
  private readonly s: Record<string, Database.Statement>;

  constructor(db: Db) {
    this.s = {
      addUser: db.prepare('INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)'),
      setRole: db.prepare('UPDATE users SET role = ? WHERE name = ?'),
      getUser: db.prepare('SELECT name, role, created_at FROM users WHERE name = ?'),
      listUsers: db.prepare('SELECT name, role, created_at FROM users ORDER BY name'),
      removeUser: db.prepare('DELETE FROM users WHERE name = ?'),
      addToken: db.prepare('INSERT INTO api_tokens (id, hash, user_name, label, created_at) VALUES (?, ?, ?, ?, ?)'),
      byHash: db.prepare(
        'SELECT t.id, t.user_name, t.revoked_at, t.last_used_at, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.hash = ?',
      ),
      touch: db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
      listTokens: db.prepare('SELECT id, user_name, label, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at'),
      revoke: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      revokeAllOf: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL'),
      getToken: db.prepare('SELECT id FROM api_tokens WHERE id = ?'),
    };
  }

  add(name: string, role: Role): UserRecord {
    validateUserName(name);
    if (role !== 'admin' && role !== 'user') throw new UserError(`--role takes admin or user, not '${role}'`);
    if (this.get(name)) throw new UserError(`user '${name}' exists already`);
    const rec = { name, role, createdAt: Date.now() };
    this.s.addUser!.run(name, role, rec.createdAt);
    return rec;
  }

  get(name: string): UserRecord | undefined {
    const r = this.s.getUser!.get(name) as { name: string; role: Role; created_at: number } | undefined;
    return r ? { name: r.name, role: r.role, createdAt: r.created_at } : undefined;
  }

  list(): UserRecord[] {
    return (this.s.listUsers!.all() as Array<{ name: string; role: Role; created_at: number }>).map((r) => ({
      name: r.name,
      role: r.role,
      createdAt: r.created_at,
    }));
  }

  /** Removes a user; their tokens are revoked (what they own stays, still theirs). */
  remove(name: string): void {
    if (!this.get(name)) throw new UserError(`no user '${name}' (see \`aloft api users list\`)`);
    this.s.revokeAllOf!.run(Date.now(), name);
    this.s.removeUser!.run(name);
  }

  /** A new token for `user`: the only time the token itself exists outside its holder. */
  createToken(user: string, label?: string): { id: string; token: string } {
    if (!this.get(user)) throw new UserError(`no user '${user}'; add it first with \`aloft api users add ${user}\``);
    const id = randomBytes(4).toString('hex');
    const token = `aloft_${randomBytes(32).toString('base64url')}`;
    this.s.addToken!.run(id, hashToken(token), user, label ?? null, Date.now());
    return { id, token };
  }

  /** The token's user and role, or undefined: unknown, revoked, or its user removed. */
  verify(token: string): { tokenId: string; user: string; role: Role } | undefined {
    const r = this.s.byHash!.get(hashToken(token)) as
      | { id: string; user_name: string; revoked_at: number | null; last_used_at: number | null; role: Role }
      | undefined;
    if (!r || r.revoked_at !== null) return undefined;
    const now = Date.now();
    if (r.last_used_at === null || now - r.last_used_at > TOUCH_EVERY_MS) this.s.touch!.run(now, r.id);
    return { tokenId: r.id, user: r.user_name, role: r.role };
  }

  listTokens(): TokenRecord[] {
    return (
      this.s.listTokens!.all() as Array<{
        id: string;
        user_name: string;
        label: string | null;
        created_at: number;
        last_used_at: number | null;
        revoked_at: number | null;
      }>
    ).map((r) => ({
      id: r.id,
      user: r.user_name,
      ...(r.label ? { label: r.label } : {}),
      createdAt: r.created_at,
      ...(r.last_used_at !== null ? { lastUsedAt: r.last_used_at } : {}),
      ...(r.revoked_at !== null ? { revokedAt: r.revoked_at } : {}),
    }));
  }

  revoke(id: string): void {
    if (!this.s.getToken!.get(id)) throw new UserError(`no token '${id}' (see \`aloft api tokens list\`)`);
    this.s.revoke!.run(Date.now(), id);
  }
}
