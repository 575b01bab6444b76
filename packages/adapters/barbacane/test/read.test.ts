import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkMemberPath, readBca } from '../src/read.js';
import {
  buildBca,
  hex,
  rawBca,
  ROUTES,
  SPEC,
  standardFiles,
  tempDir,
  v6Manifest,
  WASM,
} from './fixtures.js';

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

describe('readBca', () => {
  it('reads a tar.gz built with the tar package and checks every checksum', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    const bca = await readBca(file);
    expect(bca.version).toBe(6);
    expect(bca.manifest.compiler_version).toBe('0.6.0');
    expect(bca.digest).toBe(`sha256:${hex(await readFile(file))}`);
    expect(bca.checksumsOk).toBe(true);
    expect(bca.checksums.map((c) => [c.path, c.listed_in, c.status])).toEqual([
      ['routes.json', 'checksums', 'ok'],
      ['plugins/rate-limit.wasm', 'checksums', 'ok'],
      ['specs/api.yaml', 'source_specs', 'ok'],
      ['plugins/rate-limit.wasm', 'plugins', 'ok'],
    ]);
    expect(bca.inputs.entries).toEqual([
      {
        path: 'plugins/rate-limit.wasm',
        size: WASM.length,
        digest: `sha256:${hex(WASM)}`,
        role: 'plugin',
        media_type: 'application/wasm',
      },
      {
        path: 'specs/api.yaml',
        size: SPEC.length,
        digest: `sha256:${hex(SPEC)}`,
        role: 'spec',
        media_type: 'application/yaml',
      },
    ]);
  });

  it('reports a tampered member and a missing member without throwing', async () => {
    const dir = await tempDir();
    const files = standardFiles();
    files['routes.json'] = ROUTES.replace('[]', '[ ]');
    delete files['plugins/rate-limit.wasm'];
    const bca = await readBca(await buildBca(dir, files));
    expect(bca.checksumsOk).toBe(false);
    const byKey = Object.fromEntries(bca.checksums.map((c) => [`${c.listed_in}:${c.path}`, c]));
    expect(byKey['checksums:routes.json']).toMatchObject({
      status: 'mismatch',
      actual: `sha256:${hex(files['routes.json'] as string)}`,
    });
    expect(byKey['plugins:plugins/rate-limit.wasm']).toMatchObject({
      status: 'missing',
      actual: null,
    });
  });

  it('accepts the older bundled_plugins name and keeps unknown fields', async () => {
    const dir = await tempDir();
    const m = v6Manifest({ barbacane_artifact_version: 2, future_field: { x: 1 } });
    m['bundled_plugins'] = m['plugins'];
    delete m['plugins'];
    const bca = await readBca(await buildBca(dir, standardFiles(m)));
    expect(bca.version).toBe(2);
    expect(bca.manifest.plugins).toHaveLength(1);
    expect((bca.manifest as Record<string, unknown>)['future_field']).toEqual({ x: 1 });
  });

  it('reports unknown artifact versions clearly', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles(v6Manifest({ barbacane_artifact_version: 7 })));
    await expect(readBca(file)).rejects.toMatchObject({
      code: 'PLB_BCA_UNSUPPORTED_VERSION',
      message: expect.stringContaining('version 7 is not supported'),
    });
  });

  it('refuses a manifest that does not match its version schema', async () => {
    const dir = await tempDir();
    const noHash = v6Manifest();
    delete noHash['artifact_hash'];
    await expectCode(
      readBca(await buildBca(dir, standardFiles(noHash), 'a.bca')),
      'PLB_BCA_MANIFEST_INVALID',
    );
    // Version 1 had no artifact_hash: the same manifest is valid there.
    const v1 = await readBca(
      await buildBca(dir, standardFiles({ ...noHash, barbacane_artifact_version: 1 }), 'b.bca'),
    );
    expect(v1.version).toBe(1);
    const badWaf = v6Manifest({ waf: { enabled: false, mode: 'loud' } });
    await expectCode(
      readBca(await buildBca(dir, standardFiles(badWaf), 'c.bca')),
      'PLB_BCA_MANIFEST_INVALID',
    );
    await expectCode(
      readBca(await buildBca(dir, { 'manifest.json': '{not json' }, 'd.bca')),
      'PLB_BCA_MANIFEST_INVALID',
    );
    await expectCode(
      readBca(await buildBca(dir, { 'manifest.json': '[]' }, 'e.bca')),
      'PLB_BCA_MANIFEST_INVALID',
    );
    await expectCode(
      readBca(
        await buildBca(dir, { 'manifest.json': '{"barbacane_artifact_version":"6"}' }, 'f.bca'),
      ),
      'PLB_BCA_MANIFEST_INVALID',
    );
  });

  it('requires manifest.json', async () => {
    const dir = await tempDir();
    await expectCode(
      readBca(await buildBca(dir, { 'routes.json': ROUTES })),
      'PLB_BCA_NO_MANIFEST',
    );
  });

  it('refuses path traversal, absolute paths and link entries with coded errors', async () => {
    const dir = await tempDir();
    const cases: [string, Buffer, string][] = [
      ['dotdot', rawBca([{ path: '../evil', data: 'x' }]), 'PLB_BCA_PATH_ESCAPE'],
      ['inner', rawBca([{ path: 'specs/../../evil', data: 'x' }]), 'PLB_BCA_PATH_ESCAPE'],
      ['abs', rawBca([{ path: '/etc/passwd', data: 'x' }]), 'PLB_BCA_PATH_ESCAPE'],
      [
        'sym',
        rawBca([{ path: 'specs/a', type: 'SymbolicLink', linkpath: '/etc/passwd' }]),
        'PLB_BCA_LINK_ENTRY',
      ],
      [
        'hard',
        rawBca([{ path: 'specs/a', type: 'Link', linkpath: 'manifest.json' }]),
        'PLB_BCA_LINK_ENTRY',
      ],
      ['fifo', rawBca([{ path: 'specs/a', type: 'FIFO' }]), 'PLB_BCA_ENTRY_TYPE'],
      [
        'dup',
        rawBca([
          { path: 'a', data: '1' },
          { path: 'a', data: '2' },
        ]),
        'PLB_BCA_DUPLICATE_ENTRY',
      ],
    ];
    for (const [name, bytes, code] of cases) {
      const file = join(dir, `${name}.bca`);
      await writeFile(file, bytes);
      await expectCode(readBca(file), code);
    }
  });

  it('enforces entry count, entry size, total size and file size limits', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    await expectCode(readBca(file, { limits: { maxEntries: 3 } }), 'PLB_BCA_TOO_MANY_ENTRIES');
    await expectCode(readBca(file, { limits: { maxEntryBytes: 4 } }), 'PLB_BCA_ENTRY_TOO_LARGE');
    await expectCode(
      readBca(file, { limits: { maxManifestBytes: 10 } }),
      'PLB_BCA_ENTRY_TOO_LARGE',
    );
    await expectCode(readBca(file, { limits: { maxTotalBytes: 100 } }), 'PLB_BCA_TOO_LARGE');
    await expectCode(readBca(file, { limits: { maxFileBytes: 10 } }), 'PLB_BCA_TOO_LARGE');
    await expectCode(readBca(file, { limits: { maxEntries: -1 } }), 'PLB_USAGE');
    // A member claiming 1 TiB is refused from its header, before any allocation.
    const huge = join(dir, 'huge.bca');
    await writeFile(huge, rawBca([{ path: 'big', data: '', size: 2 ** 40 }], { end: false }));
    await expectCode(readBca(huge), 'PLB_BCA_ENTRY_TOO_LARGE');
  });

  it('refuses truncated, corrupt and non-archive input', async () => {
    const dir = await tempDir();
    const good = await readFile(await buildBca(dir, standardFiles()));
    const cut = join(dir, 'cut.bca');
    await writeFile(cut, good.subarray(0, Math.floor(good.length / 2)));
    await expect(readBca(cut)).rejects.toMatchObject({
      code: expect.stringMatching(/^PLB_BCA_(CORRUPT|TRUNCATED)$/),
    });
    const text = join(dir, 'text.bca');
    await writeFile(text, 'hello world');
    await expect(readBca(text)).rejects.toMatchObject({ code: expect.stringMatching(/^PLB_BCA_/) });
    const empty = join(dir, 'empty.bca');
    await writeFile(empty, gzipSync(Buffer.alloc(1024)));
    await expect(readBca(empty)).rejects.toMatchObject({
      code: expect.stringMatching(/^PLB_BCA_/),
    });
    const shortMember = join(dir, 'short.bca');
    await writeFile(shortMember, rawBca([{ path: 'a', data: 'abc', size: 600 }], { end: false }));
    await expect(readBca(shortMember)).rejects.toMatchObject({
      code: expect.stringMatching(/^PLB_BCA_(CORRUPT|TRUNCATED)$/),
    });
    await expectCode(readBca(join(dir, 'missing.bca')), 'PLB_BCA_READ');
    await expectCode(readBca(dir), 'PLB_BCA_READ');
  });

  it('honours an abort signal', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    await expect(readBca(file, { signal: AbortSignal.abort() })).rejects.toBeDefined();
  });

  it('never crashes on arbitrary bytes or truncations (property)', async () => {
    const dir = await tempDir();
    const good = await readFile(await buildBca(dir, standardFiles()));
    const file = join(dir, 'fuzz.bca');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc.nat({ max: good.length }).map((n) => good.subarray(0, n)),
          fc.uint8Array({ maxLength: 2048 }).map((b) => gzipSync(b)),
        ),
        async (bytes) => {
          await writeFile(file, bytes);
          try {
            await readBca(file);
          } catch (error) {
            expect((error as { code?: string }).code).toMatch(/^PLB_/);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('checkMemberPath accepts relative paths and refuses escapes (property)', () => {
    expect(checkMemberPath('./specs/a.yaml')).toBe('specs/a.yaml');
    expect(checkMemberPath('specs/')).toBe('specs');
    for (const bad of ['', '/', 'a//b', 'a/./b', '..', 'a\\b', 'C:/x', 'a\0b']) {
      expect(() => checkMemberPath(bad)).toThrow(
        expect.objectContaining({ code: 'PLB_BCA_PATH_ESCAPE' }),
      );
    }
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '.', '..', ''), { minLength: 1, maxLength: 5 }),
        (segments) => {
          const path = segments.join('/');
          let ok = true;
          try {
            checkMemberPath(path);
          } catch {
            ok = false;
          }
          const clean = (path.startsWith('./') ? path.slice(2) : path).replace(/\/$/, '');
          const expected =
            clean.length > 0 && clean.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
          expect(ok).toBe(expected);
        },
      ),
    );
  });
});
