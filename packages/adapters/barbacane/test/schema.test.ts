import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';
import {
  BARBACANE_ARTIFACT_VERSIONS,
  parseBarbacaneManifest,
  parseJsonKeepingBigIntegers,
} from '../src/schema.js';
import { v6Manifest } from './fixtures.js';

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe('parseBarbacaneManifest (properties)', () => {
  it('throws only coded errors on arbitrary bytes and JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc.json({ maxDepth: 4 }).map((text) => new TextEncoder().encode(text)),
          fc
            .record({
              barbacane_artifact_version: fc.oneof(fc.integer({ min: -2, max: 9 }), fc.string()),
              compiled_at: fc.oneof(fc.string(), fc.integer()),
              compiler_version: fc.string(),
              source_specs: fc.oneof(fc.constant([]), fc.array(fc.object(), { maxLength: 2 })),
              routes_count: fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 })),
              checksums: fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
            })
            .map(encode),
        ),
        (bytes) => {
          try {
            const manifest = parseBarbacaneManifest(bytes);
            expect(BARBACANE_ARTIFACT_VERSIONS as readonly number[]).toContain(
              manifest.barbacane_artifact_version,
            );
          } catch (error) {
            expect(PlumblineError.is(error)).toBe(true);
            expect((error as PlumblineError).code).toMatch(
              /^PLB_BCA_(MANIFEST_INVALID|UNSUPPORTED_VERSION)$/,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps unknown fields and refuses any malformed digest of a valid manifest', () => {
    const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !(k in v6Manifest()));
    fc.assert(
      fc.property(key, fc.jsonValue({ maxDepth: 2 }), (name, value) => {
        const parsed = parseBarbacaneManifest(encode({ ...v6Manifest(), [name]: value }));
        // The manifest is JSON, so the field comes back as JSON gives it (-0 reads back as 0).
        expect((parsed as Record<string, unknown>)[name]).toEqual(
          JSON.parse(JSON.stringify(value)),
        );
      }),
      { numRuns: 100 },
    );
    const notDigest = fc.string({ maxLength: 80 }).filter((s) => !/^sha256:[0-9a-f]{64}$/.test(s));
    fc.assert(
      fc.property(notDigest, (hash) => {
        expect(() => parseBarbacaneManifest(encode(v6Manifest({ artifact_hash: hash })))).toThrow(
          expect.objectContaining({ code: 'PLB_BCA_MANIFEST_INVALID' }),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('parseJsonKeepingBigIntegers reads like JSON.parse, but keeps wide integers exact', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        const text = JSON.stringify(value);
        expect(parseJsonKeepingBigIntegers(text, new Set())).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
        fc.string({ maxLength: 20 }),
        (n, s) => {
          const text = `{"s":${JSON.stringify(s)},"waf":{"inbound_threshold":${n},"other":${n}}}`;
          const parsed = parseJsonKeepingBigIntegers(text) as {
            s: string;
            waf: { inbound_threshold: unknown; other: unknown };
          };
          expect(parsed.s).toBe(s);
          const exact = Number.isSafeInteger(Number(n)) ? Number(n) : n;
          expect(parsed.waf.inbound_threshold).toEqual(exact);
          expect(parsed.waf.other).toBe(Number(n));
        },
      ),
      { numRuns: 200 },
    );
  });
});
