import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import {
  manifestFromEntries,
  parseEntryProof,
  proveEntry,
  verifyEntryProof,
  type EntryProof,
} from '@plumbline/core/manifest';

const d = (s: string) => formatDigest(sha256(utf8(s)));
const manifest = manifestFromEntries(
  Array.from({ length: 11 }, (_, i) => ({
    path: `dir/file-${i}.yaml`,
    size: i,
    digest: d(String(i)),
  })),
);

describe('entry proofs', () => {
  it('proves and verifies every entry against the manifest root', () => {
    for (const entry of manifest.entries) {
      const proof = proveEntry(manifest, entry.path);
      expect(proof).toMatchObject({
        path: entry.path,
        digest: entry.digest,
        tree_size: 11,
        root: manifest.root,
      });
      expect(verifyEntryProof(proof)).toBe(true);
      expect(verifyEntryProof(proof, { root: manifest.root })).toBe(true);
      expect(verifyEntryProof(proof, { root: d('other') })).toBe(false);
      expect(parseEntryProof(JSON.parse(JSON.stringify(proof)))).toEqual(proof);
    }
    const single = manifestFromEntries([{ path: 'only', size: 0, digest: d('') }]);
    expect(proveEntry(single, 'only').audit_path).toEqual([]);
    expect(verifyEntryProof(proveEntry(single, 'only'))).toBe(true);
  });

  it('refuses an entry the manifest does not have', () => {
    expect(() => proveEntry(manifest, 'nope')).toThrow(
      expect.objectContaining({ code: 'PLB_ENTRY_NOT_FOUND', details: { path: 'nope' } }),
    );
  });

  it('fails for any change to the proof', () => {
    const proof = proveEntry(manifest, 'dir/file-6.yaml');
    const changes: Partial<EntryProof>[] = [
      { path: 'dir/file-7.yaml' },
      { digest: d('x') },
      { leaf_index: 5 },
      { tree_size: 7 },
      { audit_path: proof.audit_path.slice(1) },
      { audit_path: [...proof.audit_path].reverse() },
      { root: d('y') },
      { leaf_index: 11 },
    ];
    for (const change of changes) expect(verifyEntryProof({ ...proof, ...change })).toBe(false);
  });

  it('never throws on hostile proofs and refuses malformed ones with a coded error', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(verifyEntryProof(value as EntryProof)).toBe(false);
        expect(() => parseEntryProof(value)).toThrow(
          expect.objectContaining({ code: 'PLB_PROOF_INVALID' }),
        );
      }),
    );
    const proof = proveEntry(manifest, 'dir/file-1.yaml');
    for (const bad of [
      { ...proof, audit_path: Array.from({ length: 65 }, () => '00'.repeat(32)) },
      { ...proof, extra: 1 },
      { ...proof, tree_size: 0 },
      { ...proof, audit_path: ['ABC'] },
      { ...proof, path: 'a\ud800' },
    ]) {
      expect(verifyEntryProof(bad as EntryProof)).toBe(false);
    }
    expect(() => parseEntryProof({ ...proof, extra: 1 })).toThrow(
      expect.objectContaining({ code: 'PLB_PROOF_INVALID' }),
    );
    expect(() => parseEntryProof(null)).toThrow(
      expect.objectContaining({ code: 'PLB_PROOF_INVALID' }),
    );
  });
});
