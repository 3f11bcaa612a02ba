// A local node's home is seeded from the user's: configuration copied, tool installs linked — but
// never so that a job can rewrite the user's own files with the node's paths (pyenv's shims).
import { mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, lstatSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seedNodeHome } from '../../src/providers/local/home.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function userHome(): string {
  const h = mkdtempSync(join(tmpdir(), 'aloft-home-'));
  dirs.push(h);
  mkdirSync(join(h, '.pyenv/versions/3.11.9/bin'), { recursive: true });
  mkdirSync(join(h, '.pyenv/shims'), { recursive: true });
  mkdirSync(join(h, '.pyenv/bin'), { recursive: true });
  writeFileSync(join(h, '.pyenv/shims/python'), 'export PYENV_ROOT="' + join(h, '.pyenv') + '"\n');
  writeFileSync(join(h, '.pyenv/version'), '3.11.9\n');
  mkdirSync(join(h, '.cache/pip'), { recursive: true });
  writeFileSync(join(h, '.bashrc'), 'export PYENV_ROOT="$HOME/.pyenv"\n');
  mkdirSync(join(h, '.aws'));
  writeFileSync(join(h, '.aws/credentials'), '[default]\n');
  return h;
}

describe('a local node home seeded from the user', () => {
  it('copies configuration, links caches, never brings credentials', () => {
    const h = userHome();
    const node = mkdtempSync(join(tmpdir(), 'aloft-node-'));
    dirs.push(node);
    seedNodeHome(node, h);
    expect(readFileSync(join(node, '.bashrc'), 'utf8')).toContain('PYENV_ROOT');
    expect(lstatSync(join(node, '.bashrc')).isSymbolicLink()).toBe(false);
    expect(readlinkSync(join(node, '.cache/pip'))).toBe(join(h, '.cache/pip'));
    expect(existsSync(join(node, '.aws'))).toBe(false);
  });

  it("gives the node its own pyenv shims and global version, with the user's installed versions", () => {
    const h = userHome();
    const node = mkdtempSync(join(tmpdir(), 'aloft-node-'));
    dirs.push(node);
    seedNodeHome(node, h);
    expect(lstatSync(join(node, '.pyenv')).isSymbolicLink()).toBe(false);
    expect(readlinkSync(join(node, '.pyenv/versions'))).toBe(join(h, '.pyenv/versions'));
    expect(readlinkSync(join(node, '.pyenv/bin'))).toBe(join(h, '.pyenv/bin'));
    // a rehash in the node (rm shims/*, write them with the node's PYENV_ROOT) stays in the node
    writeFileSync(join(node, '.pyenv/shims/python'), 'export PYENV_ROOT="' + join(node, '.pyenv') + '"\n');
    writeFileSync(join(node, '.pyenv/version'), 'system\n');
    expect(readFileSync(join(h, '.pyenv/shims/python'), 'utf8')).toContain(join(h, '.pyenv'));
    expect(readFileSync(join(h, '.pyenv/version'), 'utf8')).toBe('3.11.9\n');
  });

  it('leaves what a node already has alone (a restarted node keeps its own changes)', () => {
    const h = userHome();
    const node = mkdtempSync(join(tmpdir(), 'aloft-node-'));
    dirs.push(node);
    writeFileSync(join(node, '.bashrc'), 'mine\n');
    seedNodeHome(node, h);
    expect(readFileSync(join(node, '.bashrc'), 'utf8')).toBe('mine\n');
  });
});
