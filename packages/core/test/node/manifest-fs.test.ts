import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { buildManifest, mediaTypeOf, type ManifestProgress } from '@plumbline/core/node';
import { manifestFromEntries, parseManifest, serializeManifest } from '@plumbline/core/manifest';
import { nobleHashBackend, setHashBackend } from '@plumbline/core/hash';
import { buildManifestRoot } from '../../src/node/manifest-fs.js';

const root = mkdtempSync(join(tmpdir(), 'plb-manifest-'));
let dir: string;
let counter = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  dir = join(root, `t${counter++}`);
  mkdirSync(dir);
});

function put(path: string, content: string | Uint8Array = path): void {
  const full = join(dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
}
const digestOf = (content: string | Uint8Array) =>
  `sha256:${createHash('sha256').update(content).digest('hex')}`;
const code = (c: string, path?: string) =>
  expect.objectContaining({
    code: c,
    ...(path === undefined ? {} : { details: expect.objectContaining({ path }) }),
  });

describe('buildManifest', () => {
  it('hashes a directory tree with paths relative to it, dotfiles included', async () => {
    put('gateway.yaml', 'listen: 8443\n');
    put('.env', 'A=1\n');
    put('specs/users.yaml');
    put('specs/nested/deep/x.json', '{}');
    mkdirSync(join(dir, 'empty'));
    const m = await buildManifest([dir]);
    expect(m.entries.map((e) => e.path)).toEqual([
      '.env',
      'gateway.yaml',
      'specs/nested/deep/x.json',
      'specs/users.yaml',
    ]);
    expect(m.entries[1]).toEqual({
      path: 'gateway.yaml',
      size: 13,
      digest: digestOf('listen: 8443\n'),
      media_type: 'application/yaml',
    });
    expect(m.root).toBe(manifestFromEntries(m.entries).root);
    expect(parseManifest(serializeManifest(m))).toEqual(m);
  });

  it('gives the empty root for an empty directory', async () => {
    const m = await buildManifest([dir]);
    expect(m.entries).toEqual([]);
    expect(m.root).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('streams files larger than one chunk with the right digest and size', async () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    put('big.bin', big);
    put('exact.bin', big.subarray(0, 1024 * 1024));
    put('empty.bin', '');
    const m = await buildManifest([dir], { concurrency: 1 });
    expect(m.entries).toEqual([
      { path: 'big.bin', size: big.length, digest: digestOf(big) },
      { path: 'empty.bin', size: 0, digest: digestOf('') },
      { path: 'exact.bin', size: 1024 * 1024, digest: digestOf(big.subarray(0, 1024 * 1024)) },
    ]);
  });

  it('uses the cwd as base for several inputs and for a single file, and --base when given', async () => {
    put('a/x.yaml');
    put('b/y.yaml');
    const several = await buildManifest(['a', 'b/y.yaml'], { cwd: dir });
    expect(several.entries.map((e) => e.path)).toEqual(['a/x.yaml', 'b/y.yaml']);
    const single = await buildManifest(['b/y.yaml'], { cwd: dir });
    expect(single.entries.map((e) => e.path)).toEqual(['b/y.yaml']);
    const based = await buildManifest([join(dir, 'a')], { base: dir });
    expect(based.entries.map((e) => e.path)).toEqual(['a/x.yaml']);
    await expect(buildManifest([join(dir, 'a')], { base: join(dir, 'b') })).rejects.toThrow(
      code('PLB_PATH_ESCAPE'),
    );
    await expect(buildManifest(['a'], { cwd: dir, base: 'nope' })).rejects.toThrow(
      code('PLB_INPUT_MISSING'),
    );
  });

  it('applies include and exclude globs and assigns roles by glob, first match wins', async () => {
    put('specs/a.yaml');
    put('specs/b.json');
    put('plugins/p.wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    put('node_modules/dep/index.js');
    put('README.md');
    put('.git/HEAD');
    const m = await buildManifest([dir], {
      exclude: ['**/*.md', 'node_modules/**', '.git/**'],
      roles: { 'specs/**': 'spec', '**/*.wasm': 'plugin', '**': 'config' },
    });
    expect(m.entries.map((e) => [e.path, e.role, e.media_type])).toEqual([
      ['plugins/p.wasm', 'plugin', 'application/wasm'],
      ['specs/a.yaml', 'spec', 'application/yaml'],
      ['specs/b.json', 'spec', 'application/json'],
    ]);
    const only = await buildManifest([dir], {
      include: ['specs/*.yaml', '.git/**'],
      roles: [['**', 'other']],
      mediaTypes: false,
    });
    expect(only.entries).toEqual([
      { path: '.git/HEAD', size: 9, digest: digestOf('.git/HEAD'), role: 'other' },
      { path: 'specs/a.yaml', size: 12, digest: digestOf('specs/a.yaml'), role: 'other' },
    ]);
    await expect(buildManifest([dir], { roles: { '**': 'secret' as never } })).rejects.toThrow(
      code('PLB_INVALID_OPTION'),
    );
  });

  it('hashes symbolic links inside the base as their target, under the link path', async () => {
    put('real/config.yaml', 'real bytes');
    symlinkSync('real/config.yaml', join(dir, 'link.yaml'));
    symlinkSync('real', join(dir, 'linked-dir'));
    const m = await buildManifest([dir]);
    expect(m.entries.map((e) => [e.path, e.digest])).toEqual([
      ['link.yaml', digestOf('real bytes')],
      ['linked-dir/config.yaml', digestOf('real bytes')],
      ['real/config.yaml', digestOf('real bytes')],
    ]);
    // A link given as an input is followed too.
    const input = await buildManifest(['link.yaml'], { cwd: dir });
    expect(input.entries).toEqual([
      {
        path: 'link.yaml',
        size: 10,
        digest: digestOf('real bytes'),
        media_type: 'application/yaml',
      },
    ]);
    await expect(buildManifest([dir], { followSymlinks: false })).rejects.toThrow(
      code('PLB_PATH_SYMLINK'),
    );
  });

  it('refuses symbolic links that leave the base, loop or point nowhere, naming the link', async () => {
    const outside = mkdtempSync(join(root, 'outside-'));
    writeFileSync(join(outside, 'secret'), 'x');
    put('ok.yaml');
    symlinkSync(join(outside, 'secret'), join(dir, 'escape'));
    await expect(buildManifest([dir])).rejects.toThrow(code('PLB_PATH_SYMLINK_ESCAPE', 'escape'));
    rmSync(join(dir, 'escape'));
    symlinkSync(outside, join(dir, 'sub-escape'));
    await expect(buildManifest([dir])).rejects.toThrow(
      code('PLB_PATH_SYMLINK_ESCAPE', 'sub-escape'),
    );
    // A path through a link that leaves the base.
    await expect(buildManifest(['sub-escape/secret'], { cwd: dir })).rejects.toThrow(
      code('PLB_PATH_SYMLINK_ESCAPE'),
    );
    rmSync(join(dir, 'sub-escape'));
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    symlinkSync('..', join(dir, 'a/b/up'));
    await expect(buildManifest([dir])).rejects.toThrow(code('PLB_PATH_SYMLINK_LOOP', 'a/b/up'));
    rmSync(join(dir, 'a/b/up'));
    symlinkSync('missing', join(dir, 'dangling'));
    await expect(buildManifest([dir])).rejects.toThrow(code('PLB_PATH_SYMLINK_BROKEN', 'dangling'));
  });

  it('refuses inputs outside the base, missing inputs and no inputs', async () => {
    put('x');
    await expect(buildManifest([join(root, 'nothing-here')])).rejects.toThrow(
      code('PLB_INPUT_MISSING'),
    );
    await expect(buildManifest(['x', 'y'], { cwd: dir })).rejects.toThrow(
      code('PLB_INPUT_MISSING', 'y'),
    );
    await expect(buildManifest([])).rejects.toThrow(code('PLB_INPUT_MISSING'));
    await expect(buildManifest(['../outside'], { cwd: dir })).rejects.toThrow(
      code('PLB_INPUT_MISSING'),
    );
    mkdirSync(join(root, `sibling${counter}`));
    await expect(buildManifest([`../sibling${counter}`], { cwd: dir, base: dir })).rejects.toThrow(
      code('PLB_PATH_ESCAPE'),
    );
  });

  it('refuses a file given twice', async () => {
    put('a/x.yaml');
    await expect(buildManifest(['a', 'a/x.yaml'], { cwd: dir })).rejects.toThrow(
      code('PLB_PATH_DUPLICATE', 'a/x.yaml'),
    );
  });

  it('refuses paths that differ only by case unless allowed', async () => {
    put('Gateway.yaml', '1');
    put('gateway.yaml', '2');
    await expect(buildManifest([dir])).rejects.toThrow(code('PLB_PATH_CASE_COLLISION'));
    const m = await buildManifest([dir], { caseCollisions: 'allow' });
    expect(m.entries.map((e) => e.path)).toEqual(['Gateway.yaml', 'gateway.yaml']);
  });

  it('normalizes names to NFC and refuses two names equal after NFC', async () => {
    put('cafe\u0301.yaml', 'decomposed');
    const m = await buildManifest([dir]);
    expect(m.entries.map((e) => e.path)).toEqual(['caf\u00e9.yaml']);
    put('caf\u00e9.yaml', 'composed');
    await expect(buildManifest([dir])).rejects.toThrow(
      code('PLB_PATH_NFC_COLLISION', 'caf\u00e9.yaml'),
    );
  });

  it('refuses file names that are not valid UTF-8, naming the path', async () => {
    mkdirSync(join(dir, 'specs'));
    // Buffer paths reach the file system byte for byte.
    writeFileSync(
      Buffer.concat([
        Buffer.from(join(dir, 'specs/bad-')),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('.yaml'),
      ]),
      'x',
    );
    await expect(buildManifest([dir])).rejects.toThrow(
      code('PLB_PATH_INVALID_UTF8', 'specs/bad-\ufffd\ufffd.yaml'),
    );
  });

  it('refuses names a manifest cannot hold and special files', async () => {
    put('back\\slash');
    await expect(buildManifest([dir])).rejects.toThrow(code('PLB_PATH_INVALID', 'back\\slash'));
    rmSync(join(dir, 'back\\slash'));
    mkfifo(join(dir, 'pipe'));
    await expect(buildManifest([dir])).rejects.toThrow(code('PLB_INPUT_UNSUPPORTED', 'pipe'));
    await expect(buildManifest(['pipe'], { cwd: dir })).rejects.toThrow(
      code('PLB_INPUT_UNSUPPORTED', 'pipe'),
    );
  });

  it('enforces the entry limit and validates options', async () => {
    put('a');
    put('b');
    await expect(buildManifest([dir], { maxEntries: 1 })).rejects.toThrow(
      code('PLB_LIMIT_ENTRIES'),
    );
    await expect(buildManifest([dir], { concurrency: 0 })).rejects.toThrow(
      code('PLB_INVALID_OPTION'),
    );
    // The SDK's one rule for numeric options, in its words.
    await expect(buildManifest([dir], { maxEntries: 1.5 })).rejects.toThrow(
      'maxEntries must be a positive integer',
    );
    await expect(buildManifest([dir], { workers: 0.5 })).rejects.toThrow(
      'workers must be an integer >= 0',
    );
  });

  it('reports progress and stops with PLB_ABORTED when aborted', async () => {
    for (let i = 0; i < 700; i++) put(`many/${i % 7}/${i}.txt`, String(i));
    put('large.bin', new Uint8Array(5 * 1024 * 1024));
    const events: ManifestProgress[] = [];
    const m = await buildManifest([dir], { onProgress: (p) => events.push(p) });
    expect(m.entries).toHaveLength(701);
    expect(events.some((e) => e.phase === 'walk')).toBe(true);
    const last = events[events.length - 1]!;
    expect(last).toEqual({
      phase: 'hash',
      files: 701,
      totalFiles: 701,
      bytes: m.entries.reduce((n, e) => n + e.size, 0),
    });

    const before = new AbortController();
    before.abort();
    await expect(buildManifest([dir], { signal: before.signal })).rejects.toThrow(
      code('PLB_ABORTED'),
    );

    for (const phase of ['walk', 'hash'] as const) {
      const controller = new AbortController();
      const promise = buildManifest([dir], {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === phase && p.files > 0) controller.abort();
        },
      });
      await expect(promise).rejects.toThrow(code('PLB_ABORTED'));
    }
    const midStream = new AbortController();
    const streaming = buildManifest(['large.bin'], { cwd: dir, signal: midStream.signal });
    midStream.abort();
    await expect(streaming).rejects.toThrow(code('PLB_ABORTED'));
  });

  it('guesses media types from extensions', () => {
    expect(mediaTypeOf('a/b.YAML')).toBe('application/yaml');
    expect(mediaTypeOf('plugin.wasm')).toBe('application/wasm');
    expect(mediaTypeOf('.env')).toBeUndefined();
    expect(mediaTypeOf('Makefile')).toBeUndefined();
    expect(mediaTypeOf('x.unknown')).toBeUndefined();
  });
});

describe('the sample gateway configuration', () => {
  it('matches the golden manifest', async () => {
    const fixtures = new URL('../../../examples/fixtures/gateway-config/', import.meta.url)
      .pathname;
    const golden = new URL('../golden/gateway-config.manifest.json', import.meta.url);
    const m = await buildManifest([fixtures], {
      roles: { 'specs/**': 'spec', 'plugins/**': 'plugin', '**': 'config' },
    });
    const text = serializeManifest(m);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });
});

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

describe('buildManifest with worker threads', () => {
  it('gives the same manifest with and without workers on a large tree', async () => {
    for (let i = 0; i < 2050; i++) put(`w/${i % 12}/${i}.yaml`, `value: ${i}\n`);
    const big = new Uint8Array(2 * 1024 * 1024 + 5).fill(7);
    put('w/large.bin', big);
    const events: ManifestProgress[] = [];
    const pooled = await buildManifest([dir], { workers: 1, onProgress: (p) => events.push(p) });
    const alone = await buildManifest([dir], { workers: 0 });
    expect(pooled).toEqual(alone);
    expect(pooled.entries).toHaveLength(2051);
    expect(pooled.entries.find((e) => e.path === 'w/large.bin')).toEqual({
      path: 'w/large.bin',
      size: big.length,
      digest: digestOf(big),
    });
    expect(events[events.length - 1]).toMatchObject({
      phase: 'hash',
      files: 2051,
      totalFiles: 2051,
    });
    expect(pooled.root).toBe(manifestFromEntries(alone.entries).root);
    await expect(buildManifest([dir], { workers: -1 })).rejects.toThrow(code('PLB_INVALID_OPTION'));
    const controller = new AbortController();
    const aborted = buildManifest([dir], {
      workers: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'hash' && p.files > 100) controller.abort();
      },
    });
    await expect(aborted).rejects.toThrow(code('PLB_ABORTED'));
  });
});

describe('buildManifest on a few large files', () => {
  it('hashes them side by side on workers, with the same manifest as one thread', async () => {
    const dir = join(root, 'large-files');
    mkdirSync(dir, { recursive: true });
    const sizes = [16 * 1024 * 1024, 16 * 1024 * 1024 + 3, 1234];
    sizes.forEach((size, i) => {
      const content = new Uint8Array(size).map((_, k) => (k * (i + 3)) & 0xff);
      writeFileSync(join(dir, `part-${i}.bin`), content);
    });
    const progress: ManifestProgress[] = [];
    const shared = await buildManifest([dir], { workers: 1, onProgress: (p) => progress.push(p) });
    const alone = await buildManifest([dir], { workers: 0 });
    expect(shared).toEqual(alone);
    expect(shared.entries.map((e) => e.size)).toEqual(sizes);
    const last = progress.at(-1)!;
    expect([last.files, last.bytes]).toEqual([3, sizes.reduce((a, b) => a + b)]);
  });

  it('stops mid-file on every thread when aborted', async () => {
    // Two sparse files of 8 GiB: far longer to read than the test waits. The calling thread reads
    // one of them synchronously, turning the event loop every few chunks, and sees the abort.
    const dir = join(root, 'huge-files');
    mkdirSync(dir, { recursive: true });
    for (const name of ['a.bin', 'b.bin']) {
      writeFileSync(join(dir, name), '');
      truncateSync(join(dir, name), 8 * 1024 ** 3);
    }
    const controller = new AbortController();
    const building = buildManifest([dir], { workers: 1, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(building).rejects.toThrow(code('PLB_ABORTED'));
  });
});

describe('buildManifest with the portable hash backend', () => {
  it('gives the same manifest as with node:crypto', async () => {
    put('gateway.yaml', 'listen: 8443\n');
    put('specs/café.yaml', 'x: 1\n');
    put('empty.txt', '');
    put(
      'plugins/large.wasm',
      new Uint8Array(3 * 1024 * 1024 + 7).map((_, k) => k & 0xff),
    );
    const native = await buildManifest([dir]);
    setHashBackend(nobleHashBackend);
    try {
      const portable = await buildManifest([dir]);
      expect(portable).toEqual(native);
      expect(portable.root).toBe(manifestFromEntries(native.entries).root);
    } finally {
      setHashBackend(undefined);
    }
    expect(native.entries.find((e) => e.path === 'specs/café.yaml')?.digest).toBe(
      digestOf('x: 1\n'),
    );
  });
});

describe('buildManifestRoot', () => {
  it('gives the root buildManifest gives, with and without workers, without building entries', async () => {
    put('gateway.yaml', 'listen: 8443\n');
    put('specs/café.yaml', 'x: 1\n');
    put('specs/Ünïcode/𝒳.json', '{}');
    put('empty.txt', '');
    put(
      'plugins/large.wasm',
      new Uint8Array(3 * 1024 * 1024 + 7).map((_, k) => k & 0xff),
    );
    for (let i = 0; i < 2100; i++) put(`many/${i % 7}/${i}.yaml`, `v: ${i}\n`);
    const roles = { 'specs/**': 'spec', '**': 'config' } as const;
    for (const workers of [0, 1, 2]) {
      const manifest = await buildManifest([dir], { workers, roles });
      expect(await buildManifestRoot([dir], { workers, roles })).toBe(manifest.root);
      expect(await buildManifestRoot([dir], { workers, exclude: ['many/**'] })).toBe(
        (await buildManifest([dir], { workers, exclude: ['many/**'] })).root,
      );
    }
    expect(await buildManifestRoot(['gateway.yaml'], { cwd: dir })).toBe(
      (await buildManifest(['gateway.yaml'], { cwd: dir })).root,
    );
    // Options are checked as buildManifest checks them.
    await expect(
      buildManifestRoot([dir], { roles: { '**': 'nonsense' as 'spec' } }),
    ).rejects.toThrow(code('PLB_INVALID_OPTION'));
  });
});
