import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDigest, sha256 } from '@plumbline/core/hash';
import { manifestFromEntries, proveEntry } from '@plumbline/core/manifest';
import { runCli } from '../helpers.js';

const work = mkdtempSync(join(tmpdir(), 'plb-proof-size-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const manifest = manifestFromEntries(
  Array.from({ length: 13 }, (_, i) => ({
    path: `f${String(i).padStart(2, '0')}.yaml`,
    size: i,
    digest: formatDigest(sha256(new Uint8Array([i]))),
  })),
);
const proof = proveEntry(manifest, 'f08.yaml');

function write(name: string, doc: unknown): string {
  const file = join(work, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('verify-proof says only what the proof proves about the tree size', () => {
  it.each([13, 14, 15, 16])(
    'a proof claiming tree_size %i is not reported as "of N"',
    async (size) => {
      const file = write(`size-${size}.json`, { ...proof, tree_size: size });
      const result = await runCli(['verify-proof', file, '--root', manifest.root]);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain(`entry 8 of ${size}`);
      expect(result.stdout).toContain('entry 8 of a tree of 13 to 16 entries');
      const json = JSON.parse(
        (await runCli(['verify-proof', file, '--root', manifest.root, '--json'])).stdout,
      ) as Record<string, unknown>;
      expect(json).toMatchObject({ verified: true, tree_size: null, tree_size_range: [13, 16] });
    },
  );

  it('binds the size when the trusted size is given, and refuses another', async () => {
    const file = write('size-16b.json', { ...proof, tree_size: 16 });
    const bound = await runCli([
      'verify-proof',
      file,
      '--root',
      manifest.root,
      '--tree-size',
      '13',
    ]);
    expect(bound.code).toBe(0);
    expect(bound.stdout).toContain('entry 8 of 13 under');
    const wrong = await runCli([
      'verify-proof',
      file,
      '--root',
      manifest.root,
      '--tree-size',
      '17',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^NOT verified/);
  });

  it('a size the proof cannot fit does not verify', async () => {
    const file = write('size-17.json', { ...proof, tree_size: 17 });
    const result = await runCli(['verify-proof', file, '--root', manifest.root]);
    expect(result.code).toBe(1);
  });
});
