// Verbs contributed by other areas (spec, optimizer, ssh, tui, managed jobs). Each module only
// declares its options; its heavy code loads inside the action.
import type { Command } from 'commander';
import { register as schema } from './commands/schema.js';
import { register as gpus } from './commands/gpus.js';
import { register as check } from './commands/check.js';
import { register as catalog } from './commands/catalog.js';
import { register as ssh } from './commands/ssh.js';
import { register as top } from './commands/top.js';
import { register as managedJobs } from './commands/managed-jobs.js';
import { register as local } from './commands/local.js';
import { register as serve } from './commands/serve.js';
import { register as costReport } from './commands/cost-report.js';
import { register as storage } from './commands/storage.js';
import { register as api } from './commands/api.js';

export function registerOptional(program: Command): void {
  for (const register of [managedJobs, serve, gpus, check, catalog, ssh, top, local, costReport, storage, schema, api]) register(program);
}
