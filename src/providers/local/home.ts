// A local node's home. Jobs run with HOME set to the node's own directory — nodes must not share
// a home (a setup appending to ~/.bashrc, as SkyPilot's env_check.yaml does, would edit yours,
// and two nodes' ~/sky_workdir would collide) — yet a task that works in your shell should work
// in a node: pip's index settings, git's identity, netrc logins, a conda/pyenv install and the
// Hugging Face cache are found through ~. So a new node's home starts as a small image of yours:
//   - your shell and tool configuration is copied (the node may change its copy, as a VM would);
//   - your tool installs and download caches are linked (shared, nothing downloaded twice).
// Credentials of clouds and ssh keys (~/.aws, ~/.config/gcloud, ~/.kube, ~/.ssh) are never
// brought along: jobs get secrets only through `secrets:`.
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Copied once, when the node is created. */
export const COPIED_CONFIG = [
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.profile',
  '.bash_logout',
  '.inputrc',
  '.gitconfig',
  '.config/git',
  '.netrc',
  '.config/pip',
  '.pip',
  '.pydistutils.cfg',
  '.condarc',
  '.npmrc',
  '.wgetrc',
  '.curlrc',
  '.huggingface',
  '.config/huggingface',
] as const;

/** Linked to yours. */
export const LINKED_INSTALLS = [
  '.cache/huggingface',
  '.cache/pip',
  '.cache/uv',
  '.cache/torch',
  '.cargo',
  '.rustup',
  '.nvm',
  '.conda',
  'miniconda3',
  'anaconda3',
  'miniforge3',
  'mambaforge',
] as const;

/**
 * Linked entry by entry, but for what the tool rewrites with the node's own paths. pyenv's init
 * (`eval "$(pyenv init -)"` in a .bashrc) rehashes on every shell: it deletes and rewrites every
 * shim with PYENV_ROOT=$HOME/.pyenv written into it. Through a link to your ~/.pyenv, a job would
 * rewrite your shims to point into the node, and your python would break once the node is gone.
 * So the node has its own shims (and its own `pyenv global`), with your versions and plugins.
 */
export const LINKED_BY_ENTRY: Record<string, { own: readonly string[]; copied: readonly string[] }> = {
  '.pyenv': { own: ['shims'], copied: ['version'] },
};

function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Fills a new node's home from `userHome`; what the node has already is left alone. */
export function seedNodeHome(nodeDir: string, userHome: string | undefined): void {
  if (!userHome || userHome === nodeDir || !existsSync(userHome)) return;
  for (const rel of COPIED_CONFIG) {
    const src = join(userHome, rel);
    const dst = join(nodeDir, rel);
    if (!existsSync(src) || present(dst)) continue;
    try {
      mkdirSync(dirname(dst), { recursive: true });
      cpSync(src, dst, { recursive: true, preserveTimestamps: true });
    } catch {
      /* unreadable: the node does without it */
    }
  }
  for (const rel of LINKED_INSTALLS) {
    const src = join(userHome, rel);
    const dst = join(nodeDir, rel);
    if (!existsSync(src) || present(dst)) continue;
    try {
      mkdirSync(dirname(dst), { recursive: true });
      symlinkSync(src, dst);
    } catch {
      /* raced with the node itself */
    }
  }
  for (const [rel, { own, copied }] of Object.entries(LINKED_BY_ENTRY)) {
    const src = join(userHome, rel);
    const dst = join(nodeDir, rel);
    if (!existsSync(src) || present(dst)) continue;
    try {
      mkdirSync(dst, { recursive: true });
      for (const entry of readdirSync(src)) {
        const from = join(src, entry);
        const to = join(dst, entry);
        if (own.includes(entry)) mkdirSync(to);
        else if (copied.includes(entry)) cpSync(from, to, { recursive: true, preserveTimestamps: true });
        else symlinkSync(from, to);
      }
    } catch {
      /* unreadable or raced: the node does with what it got */
    }
  }
}
