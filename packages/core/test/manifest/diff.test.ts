import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { diffManifests, manifestFromEntries, type ManifestEntry } from '@plumbline/core/manifest';

const d = (s: string) => formatDigest(sha256(utf8(s)));
const e = (path: string, content = path, role?: ManifestEntry['role']): ManifestEntry => ({
  path,
  size: content.length,
  digest: d(content),
  ...(role ? { role } : {}),
});

describe('diffManifests', () => {
  it('reports added, removed, changed (with both digests) and unchanged, in manifest order', () => {
    const a = manifestFromEntries([
      e('gateway.yaml'),
      e('specs/b.yaml'),
      e('specs/a.yaml'),
      e('old.json'),
    ]);
    const b = manifestFromEntries([
      e('gateway.yaml', 'gateway v2'),
      e('specs/a.yaml'),
      e('specs/b.yaml'),
      e('plugins/z.wasm'),
      e('new.json'),
    ]);
    const diff = diffManifests(a, b);
    expect(diff).toEqual({
      equal: false,
      added: [e('new.json'), e('plugins/z.wasm')],
      removed: [e('old.json')],
      changed: [
        {
          path: 'gateway.yaml',
          before: { digest: d('gateway.yaml'), size: 12 },
          after: { digest: d('gateway v2'), size: 10 },
        },
      ],
      unchanged: 2,
    });
  });

  it('treats metadata as no change and equal manifests as equal', () => {
    const a = manifestFromEntries([e('x', 'x', 'spec')]);
    const b = manifestFromEntries([e('x', 'x', 'config')]);
    expect(diffManifests(a, b)).toEqual({
      equal: true,
      added: [],
      removed: [],
      changed: [],
      unchanged: 1,
    });
    expect(diffManifests({ entries: [] }, { entries: [] }).equal).toBe(true);
  });

  it('sorts unsorted input first', () => {
    const diff = diffManifests({ entries: [e('b'), e('a')] }, { entries: [e('c'), e('a')] });
    expect(diff.removed.map((x) => x.path)).toEqual(['b']);
    expect(diff.added.map((x) => x.path)).toEqual(['c']);
  });

  it('is consistent for random manifests', () => {
    const entries = fc.uniqueArray(
      fc.record({ path: fc.stringMatching(/^[a-c]{1,3}$/), content: fc.constantFrom('1', '2') }),
      { selector: (x) => x.path, maxLength: 15 },
    );
    fc.assert(
      fc.property(entries, entries, (xs, ys) => {
        const a = manifestFromEntries(xs.map((x) => e(x.path, x.content)));
        const b = manifestFromEntries(ys.map((y) => e(y.path, y.content)));
        const diff = diffManifests(a, b);
        expect(diff.unchanged + diff.changed.length + diff.removed.length).toBe(a.entries.length);
        expect(diff.unchanged + diff.changed.length + diff.added.length).toBe(b.entries.length);
        expect(diff.equal).toBe(a.root === b.root);
        const back = diffManifests(b, a);
        expect(back.added).toEqual(diff.removed);
        expect(back.changed.map((c) => c.path)).toEqual(diff.changed.map((c) => c.path));
      }),
    );
  });
});
