import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packPath } from '../../src/daemon/pipeline/pack.js';
import { LocalTransport } from '../../src/providers/local/transport.js';

function tree(): string {
  const d = mkdtempSync(join(tmpdir(), 'aloft-pack-'));
  mkdirSync(join(d, 'src', 'build'), { recursive: true });
  writeFileSync(join(d, 'a.txt'), 'A');
  writeFileSync(join(d, 'big.bin'), Buffer.alloc(300_000, 7));
  writeFileSync(join(d, 'src', 'main.py'), 'print(1)');
  writeFileSync(join(d, 'src', 'build', 'out.o'), 'obj');
  writeFileSync(join(d, 'src', 'local.env'), 'X=1');
  writeFileSync(join(d, '.gitignore'), '*.bin\nbuild/\n');
  writeFileSync(join(d, 'src', '.gitignore'), 'local.env\n');
  symlinkSync('a.txt', join(d, 'link'));
  return d;
}

async function unpack(src: string): Promise<string> {
  const dest = mkdtempSync(join(tmpdir(), 'aloft-unpack-'));
  const t = new LocalTransport(dest);
  await t.upload(packPath(src).stream, 'out');
  return join(dest, 'out');
}

describe('packPath', () => {
  it('honours nested .gitignore files and keeps symlinks', async () => {
    const out = await unpack(tree());
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('A');
    expect(readFileSync(join(out, 'src', 'main.py'), 'utf8')).toBe('print(1)');
    expect(existsSync(join(out, 'big.bin'))).toBe(false);
    expect(existsSync(join(out, 'src', 'build'))).toBe(false);
    expect(existsSync(join(out, 'src', 'local.env'))).toBe(false);
    expect(execFileSync('readlink', [join(out, 'link')]).toString().trim()).toBe('a.txt');
  });

  it('uses .skyignore instead of .gitignore when the root has one', async () => {
    const d = tree();
    writeFileSync(join(d, '.skyignore'), 'a.txt\n');
    const out = await unpack(d);
    expect(existsSync(join(out, 'a.txt'))).toBe(false);
    expect(existsSync(join(out, 'big.bin'))).toBe(true);
    expect(existsSync(join(out, 'src', 'local.env'))).toBe(true);
  });
});
