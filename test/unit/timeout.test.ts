import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../../src/util/timeout.js';

describe('withTimeout', () => {
  it('settles like the work when it is in time, and leaves no timer behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await expect(withTimeout(Promise.resolve(7), 10_000, 'late')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('boom')), 10_000, 'late')).rejects.toThrow('boom');
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
  });

  it('rejects with a TimeoutError carrying the message when the work is late', async () => {
    const err = await withTimeout(new Promise(() => undefined), 20, 'no answer in 0.02s').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('no answer in 0.02s');
  });
});
