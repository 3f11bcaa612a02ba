// The JSON Schema of the task YAML, generated from the same Zod schemas that validate it, for
// editors (yaml-language-server: `# yaml-language-server: $schema=...`).
import { z } from 'zod';
import { TaskSchema } from './schema.js';

export function taskJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(TaskSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://aloft.dev/schemas/task.json',
    title: 'aloft task (SkyPilot-compatible task YAML)',
  };
}
