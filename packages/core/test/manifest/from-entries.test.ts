import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDigest, sha256, toHex, utf8 } from '@plumbline/core/hash';
import { merkleRoot, verifyInclusionOfInput } from '@plumbline/core/merkle';
import {
  leafInputOf,
  manifestFromEntries,
  manifestTree,
  sortEntries,
  type ManifestEntry,
} from '@plumbline/core/manifest';

const d = (s: string) => formatDigest(sha256(utf8(s)));

describe('manifestFromEntries', () => {
  it('sorts by UTF-8 bytes and computes the root over digest || path leaves', () => {
    const entries: ManifestEntry[] = [
      { path: '\u{1f600}.txt', size: 1, digest: d('smile') },
      { path: '\uff5e.txt', size: 1, digest: d('tilde') },
      { path: 'B', size: 2, digest: d('B'), role: 'config', media_type: 'text/plain' },
      { path: 'a', size: 3, digest: d('a') },
    ];
    const m = manifestFromEntries(entries);
    expect(m.entries.map((e) => e.path)).toEqual(['B', 'a', '\uff5e.txt', '\u{1f600}.txt']);
    const leaves = m.entries.map(
      (e) =>
        new Uint8Array([
          ...sha256(
            utf8(
              e.path === 'B'
                ? 'B'
                : e.path === 'a'
                  ? 'a'
                  : e.path.startsWith('\uff5e')
                    ? 'tilde'
                    : 'smile',
            ),
          ),
          ...utf8(e.path),
        ]),
    );
    expect(m.root).toBe(`sha256:${toHex(merkleRoot(leaves))}`);
    expect(m.format).toBe('plumbline.manifest/v1');
    expect(m.entries[0]).toEqual({
      path: 'B',
      size: 2,
      digest: d('B'),
      role: 'config',
      media_type: 'text/plain',
    });
  });

  it('gives the empty root for no entries', () => {
    expect(manifestFromEntries([]).root).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('does not depend on input order and drops stray fields', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}(\/[a-z]{1,6}){0,2}$/), {
          maxLength: 20,
          selector: (p) => p.toLowerCase(),
        }),
        fc.nat(),
        (paths, seed) => {
          const entries = paths.map(
            (path) => ({ path, size: path.length, digest: d(path), extra: 1 }) as ManifestEntry,
          );
          const shuffled = [...entries].sort(() =>
            (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 1 ? 1 : -1,
          );
          const a = manifestFromEntries(entries);
          const b = manifestFromEntries(shuffled);
          expect(b).toEqual(a);
          expect(Object.keys(a.entries[0] ?? {})).not.toContain('extra');
        },
      ),
    );
  });

  it('refuses duplicates, case collisions, bad digests, sizes and too many entries', () => {
    const e = (path: string): ManifestEntry => ({ path, size: 1, digest: d(path) });
    expect(() => manifestFromEntries([e('a'), e('a')])).toThrow(
      expect.objectContaining({ code: 'PLB_PATH_DUPLICATE' }),
    );
    expect(() => manifestFromEntries([e('A'), e('a')])).toThrow(
      expect.objectContaining({
        code: 'PLB_PATH_CASE_COLLISION',
        details: { path: 'a', other: 'A' },
      }),
    );
    expect(manifestFromEntries([e('A'), e('a')], { caseCollisions: 'allow' }).entries).toHaveLength(
      2,
    );
    expect(() => manifestFromEntries([{ ...e('a'), digest: 'sha256:xx' as never }])).toThrow(
      expect.objectContaining({ code: 'PLB_INVALID_DIGEST' }),
    );
    expect(() => manifestFromEntries([{ ...e('a'), size: -1 }])).toThrow(
      expect.objectContaining({ code: 'PLB_INVALID_SIZE' }),
    );
    expect(() => manifestFromEntries([{ ...e('a'), size: 1.5 }])).toThrow(
      expect.objectContaining({ code: 'PLB_INVALID_SIZE' }),
    );
    expect(() => manifestFromEntries([e('a'), e('b')], { maxEntries: 1 })).toThrow(
      expect.objectContaining({ code: 'PLB_LIMIT_ENTRIES' }),
    );
    expect(() => manifestFromEntries([e('../a')])).toThrow(
      expect.objectContaining({ code: 'PLB_PATH_ESCAPE' }),
    );
  });

  it('proves every entry with the manifest tree', () => {
    const m = manifestFromEntries(
      ['x', 'y/z', 'w', 'v.yaml', 'u'].map((p) => ({ path: p, size: 0, digest: d(p) })),
    );
    const tree = manifestTree(m);
    expect(`sha256:${toHex(tree.root)}`).toBe(m.root);
    m.entries.forEach((entry, i) => {
      expect(
        verifyInclusionOfInput({
          leafInput: leafInputOf(entry),
          index: i,
          treeSize: m.entries.length,
          path: tree.inclusionProof(i),
          root: tree.root,
        }),
      ).toBe(true);
    });
    expect(sortEntries([{ path: 'b' }, { path: 'a' }])).toEqual([{ path: 'a' }, { path: 'b' }]);
  });
});
