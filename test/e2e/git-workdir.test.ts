// Issue 13: `workdir: {url, ref}` — every node clones the repository into ~/sky_workdir and checks
// out a branch, a tag or a commit; a later launch fetches into the clone; a private repository
// takes GIT_TOKEN from --secret, which never reaches the clone's config or aloft's state.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type AloftEnv } from '../helpers/cli.js';
import { startGitDaemon, startGitHttp, type GitDaemon, type GitHttp } from '../helpers/git-servers.js';

let a: AloftEnv;
let daemon: GitDaemon;
let web: GitHttp;
let root: string;
const token = 'tok-' + Math.random().toString(36).slice(2);
const commits: Record<string, string> = {};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' },
  }).trim();
}

function commit(src: string, text: string): string {
  writeFileSync(join(src, 'version.txt'), text + '\n');
  git(src, 'add', '-A');
  git(src, 'commit', '-qm', text);
  return git(src, 'rev-parse', 'HEAD');
}

beforeAll(async () => {
  a = makeHome('aloft-git-');
  root = join(a.home, 'repos');
  const src = join(a.home, 'src');
  mkdirSync(src, { recursive: true });
  git(src, 'init', '-q', '-b', 'main');
  commits.first = commit(src, 'first');
  git(src, 'tag', 'v1.0');
  commits.second = commit(src, 'second');
  git(src, 'checkout', '-q', '-b', 'feature');
  commits.feature = commit(src, 'feature');
  git(src, 'checkout', '-q', 'main');
  mkdirSync(root, { recursive: true });
  for (const name of ['pub.git', 'priv.git']) {
    git(root, 'clone', '-q', '--bare', src, name);
  }
  daemon = await startGitDaemon(root);
  web = await startGitHttp(root, token);
}, 60_000);

afterAll(async () => {
  await a?.cleanup();
  await daemon?.stop();
  await web?.stop();
});

// refs are quoted: an abbreviated hash can read as a YAML number ("1234e56" → Infinity), as in any YAML
function task(file: string, url: string, ref?: string, nodes = 1): string {
  const p = join(a.home, file);
  writeFileSync(p, ['workdir:', `  url: ${url}`, ...(ref ? [`  ref: '${ref}'`] : []), `num_nodes: ${nodes}`, 'run: |', '  echo "$(cat version.txt) $(git rev-parse HEAD) $(git rev-parse --abbrev-ref HEAD) $SKYPILOT_NODE_RANK"'].join('\n') + '\n');
  return p;
}

describe('git workdirs', () => {
  it('clones at a tag on every node (git daemon), then fetches another ref into the same clone', async () => {
    const r = await a.run(['launch', '-y', '-c', 'g', task('t1.yaml', daemon.url('pub.git'), 'v1.0', 2)], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`first ${commits.first} HEAD 0`);
    expect(r.stdout).toContain(`first ${commits.first} HEAD 1`);
    expect(r.stderr).toMatch(/cloned git:\/\/\S+pub\.git at tag v1\.0 \([0-9a-f]{12}\) into ~\/sky_workdir on 2 node\(s\)/);
    // a branch, on the same cluster: the clone is fetched into, and checked out as that branch
    const b = await a.run(['launch', '-y', '-c', 'g', task('t2.yaml', daemon.url('pub.git'), 'feature', 2)], { timeoutMs: 180_000 });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain(`feature ${commits.feature} feature 0`);
    // a commit, by its abbreviated hash
    const c = await a.run(['launch', '-y', '-c', 'g', task('t3.yaml', daemon.url('pub.git'), commits.second!.slice(0, 10), 2)], { timeoutMs: 180_000 });
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain(`second ${commits.second} HEAD 0`);
    // no ref: the remote's default branch
    const d = await a.run(['launch', '-y', '-c', 'g', task('t4.yaml', daemon.url('pub.git'))], { timeoutMs: 180_000 });
    expect(d.stdout).toContain(`second ${commits.second} main 0`);
  }, 600_000);

  it('a ref the repository does not have is one line naming it', async () => {
    const r = await a.run(['launch', '-y', '-c', 'g', task('t5.yaml', daemon.url('pub.git'), 'no-such-branch')], { timeoutMs: 180_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^aloft: launch failed at SYNC_WORKDIR: workdir: cloning git:\/\/\S+ at no-such-branch on node 0 failed: 'no-such-branch' is not a branch, tag or commit of git:\/\/\S+$/);
  }, 300_000);

  it('a private repository over http takes GIT_TOKEN from --secret, and the token stays out of the clone and aloft', async () => {
    const url = web.url('priv.git');
    const denied = await a.run(['launch', '-y', '-c', 'p', task('p1.yaml', url, 'main')], { timeoutMs: 180_000 });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr.trim().split('\n').pop()).toMatch(/^aloft: launch failed at SYNC_WORKDIR: workdir: cloning http:\/\/\S+priv\.git at main on node 0 failed: /);
    const ok = await a.run(['launch', '-y', '-c', 'p', '--secret', `GIT_TOKEN=${token}`, task('p2.yaml', url, 'v1.0')], { timeoutMs: 180_000 });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`first ${commits.first} HEAD 0`);
    expect(ok.stdout + ok.stderr).not.toContain(token);
    const clone = join(a.home, 'local', 'p', '0', 'sky_workdir', '.git');
    expect(readFileSync(join(clone, 'config'), 'utf8')).not.toContain(token);
    expect(readdirSync(join(a.home, 'local', 'p', '0')).filter((f) => f.startsWith('.aloft-git'))).toEqual([]);
    await a.run(['daemon', 'stop']);
    for (const f of readdirSync(a.home)) {
      if (/^(state\.db.*|daemon\.log)$/.test(f)) expect(readFileSync(join(a.home, f), 'latin1'), f).not.toContain(token);
    }
  }, 400_000);
});
