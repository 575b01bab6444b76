import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import {
  manifestFromDocument,
  manifestFromEntries,
  parseManifest,
  serializeManifest,
  type Manifest,
} from '@plumbline/core/manifest';

const d = (s: string) => formatDigest(sha256(utf8(s)));
const sample: Manifest = manifestFromEntries([
  {
    path: 'gateway.yaml',
    size: 10,
    digest: d('g'),
    role: 'config',
    media_type: 'application/yaml',
  },
  {
    path: 'plugins/auth.wasm',
    size: 43,
    digest: d('w'),
    role: 'plugin',
    media_type: 'application/wasm',
  },
  { path: 'specs/users.yaml', size: 7, digest: d('u'), role: 'spec' },
]);
const text = serializeManifest(sample);
const code = (c: string) => expect.objectContaining({ code: c });

function edit(
  mutate: (doc: Record<string, unknown> & { entries: Record<string, unknown>[] }) => void,
): string {
  const doc = JSON.parse(text) as Record<string, unknown> & { entries: Record<string, unknown>[] };
  mutate(doc);
  return JSON.stringify(doc);
}

describe('manifest JSON', () => {
  it('round-trips and serializes deterministically', () => {
    expect(parseManifest(text)).toEqual(sample);
    expect(parseManifest(new TextEncoder().encode(text))).toEqual(sample);
    expect(serializeManifest(parseManifest(text))).toBe(text);
    expect(text.endsWith('}\n')).toBe(true);
    expect(serializeManifest(sample, { indent: 0 })).toBe(JSON.stringify(JSON.parse(text)));
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      'format',
      'hash_alg',
      'root',
      'entries',
    ]);
  });

  it('round-trips random manifests', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            path: fc
              .stringMatching(/^[a-z0-9._-]{1,8}(\/[a-z0-9_-]{1,8}){0,3}$/)
              .filter((p) => !p.split('/').some((s) => s === '.' || s === '..')),
            size: fc.nat(),
            content: fc.string(),
            role: fc.constantFrom('spec', 'config', 'plugin', 'other', undefined),
          }),
          { selector: (x) => x.path.toLowerCase(), maxLength: 20 },
        ),
        (xs) => {
          const m = manifestFromEntries(
            xs.map((x) => ({
              path: x.path,
              size: x.size,
              digest: d(x.content),
              ...(x.role ? { role: x.role } : {}),
            })),
          );
          expect(parseManifest(serializeManifest(m))).toEqual(m);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses truncated input at every length with a coded error', () => {
    for (let n = 0; n < text.length; n += 7) {
      expect(() => parseManifest(text.slice(0, n))).toThrow(code('PLB_MANIFEST_MALFORMED'));
    }
  });

  it('refuses oversized input before parsing', () => {
    expect(() => parseManifest(text, { maxBytes: 100 })).toThrow(code('PLB_MANIFEST_TOO_LARGE'));
    expect(() => parseManifest(new TextEncoder().encode(text), { maxBytes: 100 })).toThrow(
      code('PLB_MANIFEST_TOO_LARGE'),
    );
    // Multi-byte characters count as their UTF-8 size.
    expect(() => parseManifest('"' + '\u20ac'.repeat(40) + '"', { maxBytes: 100 })).toThrow(
      code('PLB_MANIFEST_TOO_LARGE'),
    );
    expect(() => parseManifest(' '.repeat(60) + '[]', { maxBytes: 100 })).toThrow(
      code('PLB_MANIFEST_INVALID'),
    );
    expect(() => parseManifest(text, { maxEntries: 2 })).toThrow(code('PLB_LIMIT_ENTRIES'));
    expect(() => parseManifest(text, { maxBytes: -1 })).toThrow(code('PLB_INVALID_OPTION'));
    expect(() => parseManifest(text, { maxEntries: 1.5 })).toThrow(code('PLB_INVALID_OPTION'));
  });

  it('refuses bytes that are not UTF-8 and values that are not text', () => {
    expect(() => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(
      code('PLB_MANIFEST_MALFORMED'),
    );
    expect(() => parseManifest(42 as never)).toThrow(code('PLB_MANIFEST_MALFORMED'));
  });

  it.each([
    ['not an object', '[]', 'PLB_MANIFEST_INVALID'],
    ['null', 'null', 'PLB_MANIFEST_INVALID'],
    [
      'another major version',
      edit((m) => (m.format = 'plumbline.manifest/v2')),
      'PLB_MANIFEST_FORMAT',
    ],
    ['another format', edit((m) => (m.format = 'cyclonedx')), 'PLB_MANIFEST_FORMAT'],
    ['missing format', edit((m) => delete m.format), 'PLB_MANIFEST_INVALID'],
    ['another hash', edit((m) => (m.hash_alg = 'sha512')), 'PLB_MANIFEST_INVALID'],
    ['an unknown field', edit((m) => (m.extra = 1)), 'PLB_MANIFEST_INVALID'],
    ['an unknown entry field', edit((m) => (m.entries[0]!.mode = 420)), 'PLB_MANIFEST_INVALID'],
    [
      'an uppercase digest',
      edit((m) => (m.entries[0]!.digest = String(m.entries[0]!.digest).toUpperCase())),
      'PLB_MANIFEST_INVALID',
    ],
    ['a fractional size', edit((m) => (m.entries[0]!.size = 1.5)), 'PLB_MANIFEST_INVALID'],
    ['a negative size', edit((m) => (m.entries[0]!.size = -1)), 'PLB_MANIFEST_INVALID'],
    ['a string size', edit((m) => (m.entries[0]!.size = '10')), 'PLB_MANIFEST_INVALID'],
    ['an unknown role', edit((m) => (m.entries[0]!.role = 'secret')), 'PLB_MANIFEST_INVALID'],
    [
      'a bad media type',
      edit((m) => (m.entries[0]!.media_type = 'yaml please')),
      'PLB_MANIFEST_INVALID',
    ],
    [
      'an overlong path',
      edit((m) => (m.entries[0]!.path = 'a'.repeat(5000))),
      'PLB_MANIFEST_INVALID',
    ],
    ['an escaping path', edit((m) => (m.entries[0]!.path = '../gateway.yaml')), 'PLB_PATH_ESCAPE'],
    ['a non-NFC path', edit((m) => (m.entries[0]!.path = 'cafe\u0301')), 'PLB_PATH_INVALID'],
    ['unsorted entries', edit((m) => m.entries.reverse()), 'PLB_MANIFEST_INVALID'],
    ['a duplicate entry', edit((m) => (m.entries[1] = m.entries[0]!)), 'PLB_PATH_DUPLICATE'],
    [
      'an entry whose digest was changed',
      edit((m) => (m.entries[0]!.digest = d('tampered'))),
      'PLB_MANIFEST_ROOT_MISMATCH',
    ],
    ['a removed entry', edit((m) => m.entries.pop()), 'PLB_MANIFEST_ROOT_MISMATCH'],
    ['another root', edit((m) => (m.root = d('x'))), 'PLB_MANIFEST_ROOT_MISMATCH'],
    ['entries not an array', edit((m) => (m.entries = {} as never)), 'PLB_MANIFEST_INVALID'],
  ])('refuses %s', (_what, input, expected) => {
    expect(() => parseManifest(input)).toThrow(code(expected));
  });

  it('accepts a valid media type with parameters and metadata changes keep the root', () => {
    const withParams = edit(
      (m) => (m.entries[0]!.media_type = 'application/vnd.oai.openapi+yaml; version="3.1"'),
    );
    expect(parseManifest(withParams).entries[0]!.media_type).toBe(
      'application/vnd.oai.openapi+yaml; version="3.1"',
    );
  });

  it('applies the case collision option', () => {
    const m = manifestFromEntries(
      [
        { path: 'A', size: 0, digest: d('') },
        { path: 'a', size: 0, digest: d('') },
      ],
      { caseCollisions: 'allow' },
    );
    expect(parseManifest(serializeManifest(m)).entries).toHaveLength(2);
    expect(() => parseManifest(serializeManifest(m), { caseCollisions: 'error' })).toThrow(
      code('PLB_PATH_CASE_COLLISION'),
    );
  });

  it('never throws anything but coded errors on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (input) => {
          try {
            parseManifest(input);
          } catch (error) {
            expect((error as { code?: string }).code).toMatch(/^PLB_/);
          }
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.nat(255), (at, byte) => {
        const bytes = new TextEncoder().encode(text);
        bytes[at] = byte;
        try {
          parseManifest(bytes);
        } catch (error) {
          expect((error as { code?: string }).code).toMatch(/^PLB_/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('verifies documents that were already decoded', () => {
    expect(manifestFromDocument(JSON.parse(text))).toEqual(sample);
  });

  it('refuses to serialize an invalid manifest', () => {
    expect(() => serializeManifest({ ...sample, root: 'nope' as never })).toThrow(
      code('PLB_MANIFEST_INVALID'),
    );
  });
});
