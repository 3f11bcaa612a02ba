// PostgreSQL for tests: a throwaway cluster (scripts/pg-cluster.mjs, shared with the benches), or
// the one the project's globalSetup started (test/helpers/postgres-setup.ts), one database per use.
import * as impl from '../../scripts/pg-cluster.mjs';

export interface PgCluster {
  port: number;
  /** postgresql://postgres@127.0.0.1:PORT/DB */
  url(database?: string): string;
  /** a new empty database; returns its URL */
  createDatabase(name?: string): Promise<string>;
  /** the same, synchronously (psql), for helpers that cannot await */
  createDatabaseSync(name?: string): string;
  dropDatabaseSync(name: string): void;
  dumpSync(name: string): string;
  stop(): Promise<void>;
}

export const startPostgres = impl.startPostgres as (opts?: { durable?: boolean }) => Promise<PgCluster>;
export const clusterAt = impl.clusterAt as (adminUrl: string) => Omit<PgCluster, 'stop'>;
export const postgresBinDir = impl.postgresBinDir as () => string | undefined;

/**
 * The project's cluster when a globalSetup started one, else one of this file's own (stopped by
 * the returned stop()).
 */
export async function testPostgres(injected: string | undefined): Promise<PgCluster> {
  if (injected) return { ...clusterAt(injected), stop: async () => undefined };
  return startPostgres();
}
