// Small zod builders shared by the task schema and the service schema: every check carries the
// one-line message a user sees ("expected a whole number", …).
import { z } from 'zod';

export const msg = (error: string) => ({ error });

export const str = (what = 'a string') => z.string(msg(`expected ${what}`));
export const bool = () => z.boolean(msg('expected true or false'));
export const int = (what = 'a whole number') => z.number(msg(`expected ${what}`)).int(msg(`expected ${what}`));
export const num = (what = 'a number') => z.number(msg(`expected ${what}`));

/** One of `values`, in any letter case (SkyPilot compares these case-insensitively). */
export const ciEnum = (values: string[], error: string) => {
  const ci = values.map((v) => v.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`)).join('|');
  return z.union([z.enum(values as [string, ...string[]]), z.string().regex(new RegExp(`^(?:${ci})$`), msg(error))], msg(error));
};
