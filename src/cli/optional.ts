// Verbs contributed by other areas (spec, optimizer, ssh, tui). Each module exports
// `register(program)`; they are looked up at start-up but their heavy code loads in the action.
import type { Command } from 'commander';

const MODULES = ['schema', 'gpus', 'check', 'catalog', 'ssh', 'top', 'managed-jobs', 'local'];

export async function registerOptional(program: Command): Promise<void> {
  const mods = await Promise.all(
    MODULES.map((m) =>
      import(`./commands/${m}.js`).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ERR_MODULE_NOT_FOUND') return undefined;
        throw err;
      }),
    ),
  );
  for (const mod of mods) (mod as { register?: (p: Command) => void } | undefined)?.register?.(program);
}
