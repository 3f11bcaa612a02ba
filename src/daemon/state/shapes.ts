// The tables of the working copy as PostgreSQL mirrors them: same names, same columns (types by
// SQLite's affinity rules), same primary key. Only what an upsert needs is mirrored: PostgreSQL
// is never queried by aloft except to load the state back, so indexes and other constraints stay
// with SQLite, which enforces them before anything reaches PostgreSQL.
import type { Db } from '../db.js';

export interface ColumnShape {
  name: string;
  /** the declared SQLite type */
  decl: string;
  /** the PostgreSQL type it maps to */
  pg: string;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
  /** primary-key columns in key order; empty when the table is keyed by SQLite's rowid */
  key: string[];
}

/** The extra PostgreSQL column that carries the rowid of a table without a primary key. */
export const ROWID_COLUMN = 'aloft_rowid';

/** SQLite's type affinity rules (datatype3 §3.1), mapped to PostgreSQL types. */
export function pgType(decl: string): string {
  const d = decl.toUpperCase();
  if (d.includes('INT')) return 'BIGINT';
  if (/CHAR|CLOB|TEXT/.test(d)) return 'TEXT';
  if (d.includes('BLOB')) return 'BYTEA';
  if (d === '') return 'TEXT';
  if (/REAL|FLOA|DOUB/.test(d)) return 'DOUBLE PRECISION';
  return 'NUMERIC';
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The working copy's own tables (SQLite's internal ones excluded). */
export function tableShapes(db: Db): TableShape[] {
  const names = (
    db.prepare(`SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{
      name: string;
    }>
  ).map((r) => r.name);
  return names.map((name) => {
    const info = db.prepare(`PRAGMA main.table_info(${quoteIdent(name)})`).all() as Array<{ name: string; type: string; pk: number }>;
    return {
      name,
      columns: info.map((c) => ({ name: c.name, decl: c.type, pg: pgType(c.type) })),
      key: info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
    };
  });
}

/** Columns as PostgreSQL holds them (the rowid column added for a table without a key). */
export function pgColumns(t: TableShape): ColumnShape[] {
  return t.key.length > 0 ? t.columns : [{ name: ROWID_COLUMN, decl: 'INTEGER', pg: 'BIGINT' }, ...t.columns];
}

export function pgKey(t: TableShape): string[] {
  return t.key.length > 0 ? t.key : [ROWID_COLUMN];
}

export function createTableSql(t: TableShape): string {
  const cols = pgColumns(t).map((c) => `${quoteIdent(c.name)} ${c.pg}`);
  return `CREATE TABLE ${quoteIdent(t.name)} (${cols.join(', ')}, PRIMARY KEY (${pgKey(t).map(quoteIdent).join(', ')}))`;
}

/** `SELECT …` of a table's rows as PostgreSQL gets them (with the rowid when it is the key). */
export function selectRowsSql(t: TableShape): string {
  return `SELECT ${t.key.length > 0 ? '' : `rowid AS ${ROWID_COLUMN}, `}* FROM main.${quoteIdent(t.name)}`;
}

/** `INSERT` of one row into the working copy, positional, in pgColumns order. */
export function insertRowSql(t: TableShape): string {
  const cols = t.key.length > 0 ? t.columns.map((c) => quoteIdent(c.name)) : ['rowid', ...t.columns.map((c) => quoteIdent(c.name))];
  return `INSERT INTO main.${quoteIdent(t.name)} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;
}

/** The expression that names a row in a trigger (`NEW` or `OLD`): a JSON array of its key. */
export function keyExpr(t: TableShape, row: 'NEW' | 'OLD'): string {
  const parts = t.key.length > 0 ? t.key.map((k) => `${row}.${quoteIdent(k)}`) : [`${row}.rowid`];
  return `json_array(${parts.join(', ')})`;
}

/** Looks one row up by its key (as `keyExpr` spelled it). */
export function rowByKeySql(t: TableShape): string {
  const where = t.key.length > 0 ? t.key.map((k) => `${quoteIdent(k)} = ?`).join(' AND ') : 'rowid = ?';
  return `${selectRowsSql(t)} WHERE ${where}`;
}
