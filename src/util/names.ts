import { randomBytes } from 'node:crypto';
import { UserError } from './errors.js';

// Like SkyPilot: lowercase letters, digits and dashes, starting with a letter. Kept short because
// the name becomes part of unix-socket paths (108-byte limit) and cloud resource names.
export const CLUSTER_NAME = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;
export const CLUSTER_NAME_RULE = 'use 1-40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash';

export function validateClusterName(name: string): string {
  if (!CLUSTER_NAME.test(name)) {
    throw new UserError(
      `invalid cluster name '${name}': ${CLUSTER_NAME_RULE}`,
    );
  }
  return name;
}

export function generateClusterName(user = process.env.USER ?? 'user'): string {
  return `aloft-${randomBytes(2).toString('hex')}-${user}`
    .toLowerCase()
    .replace(/[^-a-z0-9]/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
}

export function shortId(bytes = 6): string {
  return randomBytes(bytes).toString('hex');
}
