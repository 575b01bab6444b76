import { describe, expect, it } from 'vitest';
import { decodeHeader } from '@plumbline/core/header';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { list } from 'tar';
import { loadBcaAsArtifact, isBcaFile } from '../src/load.js';
import { readBca } from '../src/read.js';
import { BCA_HEADER_MEMBER, sealBca, tarEndOffset } from '../src/seal.js';
import { buildBca, hex, rawBca, ROUTES, SPEC, standardFiles, tempDir, WASM } from './fixtures.js';

const COMMIT = 'a'.repeat(40);

describe('sealBca', () => {
  it('writes a detached sidecar whose header covers the manifest, specs, plugins and routes', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    const result = await sealBca(file, {
      mode: 'sidecar',
      commit: COMMIT,
      source: 'acme/gateway',
      sourceDateEpoch: null,
    });
    expect(result.output).toBe(`${file}.plumbline`);
    const header = decodeHeader(await readFile(result.output));
    const manifestBytes = standardFiles()['manifest.json'] as string;
    expect(header.inputs.map((e) => [e.path, e.role, e.digest])).toEqual([
      ['manifest.json', 'config', `sha256:${hex(manifestBytes)}`],
      ['plugins/rate-limit.wasm', 'plugin', `sha256:${hex(WASM)}`],
      ['routes.json', 'config', `sha256:${hex(ROUTES)}`],
      ['specs/api.yaml', 'spec', `sha256:${hex(SPEC)}`],
    ]);
    expect(header.payload).toEqual({
      digest: `sha256:${hex(await readFile(file))}`,
      size: (await readFile(file)).length,
      media_type: 'application/vnd.barbacane.bca+gzip',
    });
    expect(header.build_timestamp).toBe('2026-03-01T10:30:00Z');
    expect(header.provenance).toEqual({
      builder: { id: 'barbacane', version: '0.6.0' },
      commit: COMMIT,
      source: 'acme/gateway',
    });
    expect(header.extensions['dev.barbacane.artifact']).toMatchObject({
      artifact_version: 6,
      provenance_commit: 'abc123def456',
      provenance_source: 'ci/github-actions',
    });
    const loaded = await loadBcaAsArtifact(file);
    expect(loaded).toMatchObject({ status: 'verified', headerSource: 'sidecar', problems: [] });
    expect(loaded.inputs.root).toBe(header.artifact_hash);
  });

  it('embeds the header as an extra member of a copy and keeps every original byte', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    const result = await sealBca(file, {
      mode: 'embed',
      builder: { id: 'ci/github-actions', version: '1' },
      sourceDateEpoch: null,
    });
    expect(result.output).toBe(join(dir, 'gateway.sealed.bca'));
    const original = gunzipSync(await readFile(file));
    const sealed = gunzipSync(await readFile(result.output));
    const end = tarEndOffset(original);
    expect(sealed.subarray(0, end).equals(original.subarray(0, end))).toBe(true);
    const names: string[] = [];
    await list({ file: result.output, onReadEntry: (e) => names.push(e.path) });
    expect(names).toEqual([...Object.keys(standardFiles()), BCA_HEADER_MEMBER]);
    // The copy still reads as the same Barbacane artifact: the same manifest and checksums.
    const copy = await readBca(result.output);
    expect(copy.checksumsOk).toBe(true);
    expect(copy.manifest).toEqual((await readBca(file)).manifest);
    const loaded = await loadBcaAsArtifact(result.output);
    expect(loaded).toMatchObject({ status: 'verified', headerSource: 'embedded' });
    await expect(sealBca(result.output, { mode: 'embed' })).rejects.toMatchObject({
      code: 'PLB_BCA_ALREADY_SEALED',
    });
  });

  it('reports unsealed as unverified and a changed member as a mismatch', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    expect((await loadBcaAsArtifact(file)).status).toBe('unverified');
    expect(await isBcaFile(file)).toBe(true);
    await sealBca(file, { mode: 'sidecar', sourceDateEpoch: null });
    // Rebuild with a changed spec and a manifest claiming the new hash: checksums hold, the
    // Plumbline inputs and the sidecar's payload do not.
    const files = standardFiles();
    files['specs/api.yaml'] = SPEC.replace('Pets', 'Cats');
    const m = JSON.parse(files['manifest.json'] as string);
    m.source_specs[0].sha256 = hex(files['specs/api.yaml'] as string);
    files['manifest.json'] = JSON.stringify(m);
    const sidecar = await readFile(`${file}.plumbline`);
    const other = await buildBca(dir, files, 'other.bca');
    await writeFile(`${other}.plumbline`, sidecar);
    const loaded = await loadBcaAsArtifact(other);
    expect(loaded.status).toBe('mismatch');
    expect(loaded.problems.join('\n')).toMatch(/Plumbline artifact_hash/);
    expect(loaded.problems.join('\n')).toMatch(/Barbacane artifact_hash/);
    expect(loaded.problems.join('\n')).toMatch(/sidecar names payload/);
  });

  it('refuses to seal an archive that fails its own checksums', async () => {
    const dir = await tempDir();
    const files = standardFiles();
    files['routes.json'] = '{}';
    await expect(sealBca(await buildBca(dir, files), { mode: 'sidecar' })).rejects.toMatchObject({
      code: 'PLB_BCA_CHECKSUM_MISMATCH',
    });
  });

  it('refuses to embed into an archive whose gzip stream inflates far past its members', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    // The same tar followed by 2 MiB of zeros inside the gzip stream: every loader (and readBca)
    // stops at the end-of-archive marker, but re-writing the archive would inflate all of it.
    const padded = join(dir, 'padded.bca');
    const tar = gunzipSync(await readFile(file));
    await writeFile(padded, gzipSync(Buffer.concat([tar, Buffer.alloc(2 * 1024 * 1024)])));
    expect((await readBca(padded)).checksumsOk).toBe(true);
    await expect(sealBca(padded, { mode: 'embed' })).rejects.toMatchObject({
      code: 'PLB_BCA_TOO_LARGE',
    });
    // A sidecar does not rewrite the archive, so it is still possible.
    expect((await sealBca(padded, { mode: 'sidecar' })).mode).toBe('sidecar');
  });

  it('writes a seal atomically: a failed write is PLB_BCA_WRITE and leaves no file behind', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    const before = await readdir(dir);
    // The output path is a directory: the rename over it fails after the bytes were written.
    await expect(
      sealBca(file, { mode: 'sidecar', commit: COMMIT, output: dir, sourceDateEpoch: null }),
    ).rejects.toMatchObject({ code: 'PLB_BCA_WRITE' });
    expect(await readdir(dir)).toEqual(before);
    const leftovers = (await readdir(dirname(dir))).filter(
      (name) => name.startsWith(basename(dir)) && name !== basename(dir),
    );
    expect(leftovers, 'temporary files beside the output').toEqual([]);
    const sealed = await sealBca(file, { mode: 'embed', commit: COMMIT, sourceDateEpoch: null });
    expect((await readdir(dir)).sort()).toEqual([...before, 'gateway.sealed.bca'].sort());
    expect((await readBca(sealed.output)).checksumsOk).toBe(true);
  });

  it('isBcaFile detects gzip content without the extension', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles(), 'artifact.bin');
    expect(await isBcaFile(file)).toBe(true);
    const plain = join(dir, 'plain.bin');
    await writeFile(plain, 'not gzip');
    expect(await isBcaFile(plain)).toBe(false);
    const otherGzip = join(dir, 'other.tgz');
    await writeFile(otherGzip, rawBca([{ path: 'readme.txt', data: 'hi' }]));
    expect(await isBcaFile(otherGzip)).toBe(false);
    expect(await isBcaFile(join(dir, 'nope'))).toBe(false);
  });
});
