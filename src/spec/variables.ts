// The envs and secrets a task YAML declares without a value (`HF_TOKEN: null`): a launch must be
// given them (--env / --secret, or the shell's value). Read from the YAML as written, before any
// validation, so a form can ask for them; every document of a pipeline counts.
import { readFileSync } from 'node:fs';
import { SpecError } from './errors.js';
import { loadDocuments } from './yaml.js';

export interface UnsetVariables {
  envs: string[];
  secrets: string[];
}

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function unsetVariablesOf(text: string, file: string): UnsetVariables {
  const envs = new Set<string>();
  const secrets = new Set<string>();
  for (const doc of loadDocuments(text, file)) {
    const raw = doc.toJS();
    if (!isMapping(raw)) continue;
    for (const [section, into] of [['envs', envs], ['secrets', secrets]] as const) {
      const vars = raw[section];
      if (!isMapping(vars)) continue;
      for (const [k, v] of Object.entries(vars)) if (v === null || v === undefined) into.add(k);
    }
  }
  return { envs: [...envs], secrets: [...secrets] };
}

export function unsetVariables(path: string): UnsetVariables {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(code === 'ENOENT' ? `${path}: no such file` : code === 'EISDIR' ? `${path}: is a directory, not a task YAML` : `${path}: cannot read (${code ?? (err as Error).message})`);
  }
  return unsetVariablesOf(text, path);
}
