import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('schema')
    .description('Print the JSON Schema of task YAML files (for editor completion and checks)')
    .action(async () => {
      const { taskJsonSchema } = await import('../../spec/jsonschema.js');
      process.stdout.write(`${JSON.stringify(taskJsonSchema(), null, 2)}\n`);
    });
}
