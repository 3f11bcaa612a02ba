import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import tar from 'tar-stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyExactly, packPath } from '../../src/daemon/pipeline/pack.js';
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

/** Reads a tar stream into {name: size} entries, resolving when the stream ends or fails. */
function listTar(stream: NodeJS.ReadableStream, onFirstChunk?: () => void): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const extract = tar.extract();
    const out: Record<string, number> = {};
    extract.on('entry', (h, s, next) => {
      let n = 0;
      s.on('data', (c: unknown) => (n += (c as Buffer).length));
      s.on('end', () => {
        out[h.name] = n;
        next();
      });
    });
    extract.on('finish', () => resolve(out));
    extract.on('error', reject);
    stream.on('error', reject);
    let first = true;
    stream.on('data', (c: Buffer) => {
      if (first && onFirstChunk) {
        first = false;
        onFirstChunk();
      }
      extract.write(c);
    });
    stream.on('end', () => (extract as unknown as NodeJS.WritableStream).end());
  });
}

describe('packPath while the directory changes (issue 17.2)', () => {
  it('skips files and directories that vanish mid-walk, with a warning, as tar does', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aloft-pack-'));
    // A file big enough that the walk waits for the reader before it looks at the next entries.
    writeFileSync(join(d, 'a-big.bin'), Buffer.alloc(2_000_000, 1));
    writeFileSync(join(d, 'b-gone.txt'), 'gone');
    mkdirSync(join(d, 'c-dir'));
    writeFileSync(join(d, 'c-dir', 'x.txt'), 'x');
    writeFileSync(join(d, 'd-kept.txt'), 'kept');
    const { stream, stats } = packPath(d);
    const entries = await listTar(stream, () => {
      rmSync(join(d, 'b-gone.txt'));
      rmSync(join(d, 'c-dir'), { recursive: true });
    });
    const s = await stats;
    expect(entries['d-kept.txt']).toBe(4);
    expect(entries['a-big.bin']).toBe(2_000_000);
    expect(entries['b-gone.txt']).toBeUndefined();
    expect(s.warnings.some((w) => w.includes('b-gone.txt') && w.includes('vanished'))).toBe(true);
    expect(s.warnings.some((w) => w.includes('c-dir') && w.includes('vanished'))).toBe(true);
  });

  it('a file that shrinks mid-read is padded to the size its header announced, one that grows is cut', async () => {
    const d = mkdtempSync(join(tmpdir(), 'aloft-pack-'));
    writeFileSync(join(d, 'f'), 'y'.repeat(40));
    const copy = async (size: number) => {
      const chunks: Buffer[] = [];
      const warnings: string[] = [];
      const sink = { write: (c: Buffer | string) => (chunks.push(Buffer.from(c)), true), end: () => undefined, once: () => undefined };
      await copyExactly(join(d, 'f'), size, sink, (w) => warnings.push(w));
      return { data: Buffer.concat(chunks), warnings };
    };
    const shrunk = await copy(100); // the header said 100 bytes; 40 are left
    expect(shrunk.data.length).toBe(100);
    expect(shrunk.data.subarray(0, 40).toString()).toBe('y'.repeat(40));
    expect(shrunk.data.subarray(40).every((b) => b === 0)).toBe(true);
    expect(shrunk.warnings).toEqual([`${join(d, 'f')}: shrank by 60 bytes while it was read; padded with zeros`]);
    const grown = await copy(10); // the header said 10 bytes; it has 40 now
    expect(grown.data.toString()).toBe('y'.repeat(10));
    expect(grown.warnings).toEqual([]);
  });

  it('a missing root, or a pseudo filesystem, fails the stream with one line', async () => {
    for (const [root, reason] of [
      ['/nonexistent-aloft-dir', '/nonexistent-aloft-dir: no such file or directory'],
      ['/proc', '/proc is on the proc pseudo filesystem (kernel state, not files to sync)'],
    ] as const) {
      const { stream, stats } = packPath(root);
      stream.on('error', () => undefined);
      await expect(stats).rejects.toThrow(reason);
    }
  });

  it('an upload of a broken stream fails instead of waiting forever', async () => {
    const dest = mkdtempSync(join(tmpdir(), 'aloft-unpack-'));
    const { stream, stats } = packPath('/nonexistent-aloft-dir');
    stats.catch(() => undefined);
    await expect(new LocalTransport(dest).upload(stream, 'out')).rejects.toThrow(/no such file/);
  });
});
