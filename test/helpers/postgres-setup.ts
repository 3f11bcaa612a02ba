// vitest globalSetup: one throwaway PostgreSQL cluster for a whole project run (each test home
// gets a database of its own in it); its URL reaches the tests through provide/inject.
import type { TestProject } from 'vitest/node';
import { startPostgres, type PgCluster } from './postgres.js';

let cluster: PgCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  cluster = await startPostgres();
  project.provide('pgUrl', cluster.url());
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}
