// A task as it may be stored or shown: every secret keeps its name, never its value.
import type { Task } from './types.js';

export const REDACTED = '<redacted>';

export function redactSecrets(task: Task): Task {
  return { ...task, secrets: Object.fromEntries(Object.keys(task.secrets ?? {}).map((k) => [k, REDACTED])) };
}
