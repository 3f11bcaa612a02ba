// Shared by the spec tests: a parse that must fail with exactly one SpecError line.
import { expect } from 'vitest';
import { parseTaskText, SpecError, type ParseOptions } from '../../src/spec/index.js';

export function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    expect((err as Error).message).not.toContain('\n');
    return err as SpecError;
  }
  throw new Error('expected a SpecError');
}

export const failText = (text: string, opts: ParseOptions = {}) => specError(() => parseTaskText(text, 'task.yaml', opts)).message;
