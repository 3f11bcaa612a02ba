// Issue 14.2 / 14.3: relative paths in a task resolve from the current directory, as in SkyPilot
// (the YAML's folder only as a fallback, with a note), and relative file-mount destinations land
// under ~/sky_workdir/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTaskFile } from '../../src/spec/index.js';

const root = mkdtempSync(join(tmpdir(), 'aloft-paths-'));
const cwd = join(root, 'repo');
const yamlDir = join(root, 'repo', 'examples', 'app');
mkdirSync(join(cwd, 'data'), { recursive: true });
mkdirSync(join(yamlDir, 'data'), { recursive: true });
mkdirSync(join(yamlDir, 'only-here'), { recursive: true });
writeFileSync(join(cwd, 'setup.py'), '');

afterAll(() => rmSync(root, { recursive: true, force: true }));

function parse(yaml: string) {
  const file = join(yamlDir, 'task.yaml');
  writeFileSync(file, yaml);
  return parseTaskFile(file, { baseDir: cwd });
}

describe('relative paths in a task YAML', () => {
  it('resolve from the current directory, not the YAML folder', () => {
    const chain = parse('workdir: ./data\nfile_mounts:\n  /setup.py: ./setup.py\nrun: "true"\n');
    expect(chain.tasks[0]!.workdir).toBe(join(cwd, 'data'));
    expect(chain.tasks[0]!.fileMounts[0]!.source).toBe(join(cwd, 'setup.py'));
    expect(chain.warnings).toBeUndefined();
  });

  it('fall back to the YAML folder when the current directory lacks the path, and say so', () => {
    const chain = parse('workdir: ./only-here\nrun: "true"\n');
    expect(chain.tasks[0]!.workdir).toBe(join(yamlDir, 'only-here'));
    expect(chain.warnings).toEqual([
      `${join(yamlDir, 'task.yaml')}:1:10: workdir: ./only-here is not in the current directory; using ${join(yamlDir, 'only-here')} (next to the YAML)`,
    ]);
  });

  it('fail with file:line:col when the path is in neither', () => {
    expect(() => parse('workdir: ./nowhere\nrun: "true"\n')).toThrow(/task\.yaml:1:10: workdir: .*repo\/nowhere does not exist/);
  });
});

describe('file_mounts destinations', () => {
  it('a relative destination lands under ~/sky_workdir/, as in SkyPilot', () => {
    const chain = parse('file_mounts:\n  relative_dir: ./data\n  ./dotslash_relative_dir: ./data\n  ~/home_dir: ./data\n  /abs: ./data\nrun: "true"\n');
    expect(chain.tasks[0]!.fileMounts.map((m) => m.dest)).toEqual(['~/sky_workdir/relative_dir', '~/sky_workdir/dotslash_relative_dir', '~/home_dir', '/abs']);
  });
});
