import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  checkHeader,
  createHeader,
  decodeHeader,
  encodeHeader,
  headerDigest,
  headerJsonSchema,
  headerToJson,
  parseHeader,
  resolveBuildTimestamp,
  normalizeTimestamp,
  timestampFromSourceDateEpoch,
  type ProvenanceHeader,
} from '@plumbline/core/header';
import { manifestFromEntries } from '@plumbline/core/manifest';
import { encodeCanonical } from '../../src/cbor/index.js';
import { sampleEntries, sampleHeader, SAMPLE_PAYLOAD } from './sample.js';

const golden = (name: string): string =>
  fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
const repoFile = (path: string): string =>
  fileURLToPath(new URL(`../../../../${path}`, import.meta.url));
const update = process.env['UPDATE_GOLDEN'] === '1';

function pinned(path: string, actual: string): void {
  if (update) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return 'none';
}

const digest = (c: string): `sha256:${string}` => `sha256:${c.repeat(64)}`;
const base = {
  manifest: manifestFromEntries(sampleEntries()),
  payload: { digest: digest('a'), size: 10 },
  provenance: { builder: { id: 'test', version: '1' } },
  sourceDateEpoch: '1700000000',
};

describe('golden files', () => {
  test('the sample header encodes to the pinned CBOR and JSON', () => {
    const header = sampleHeader();
    const bytes = encodeHeader(header);
    const hexText = Buffer.from(bytes)
      .toString('hex')
      .replace(/(.{64})/g, '$1\n')
      .trimEnd();
    pinned(golden('header.cbor.hex'), `${hexText}\n`);
    pinned(golden('header.json'), `${headerToJson(header)}\n`);
    pinned(golden('header.digest.txt'), `${headerDigest(bytes)}\n`);
  });

  test('the pinned CBOR decodes to the pinned JSON', () => {
    const hexText = readFileSync(golden('header.cbor.hex'), 'utf8').replace(/\s+/g, '');
    const header = decodeHeader(new Uint8Array(Buffer.from(hexText, 'hex')));
    expect(JSON.parse(headerToJson(header))).toEqual(
      JSON.parse(readFileSync(golden('header.json'), 'utf8')),
    );
    expect(checkHeader(header)).toEqual([]);
  });

  test('docs/schemas/header.schema.json is the schema generated from zod', () => {
    pinned(
      repoFile('docs/schemas/header.schema.json'),
      `${JSON.stringify(headerJsonSchema(), null, 2)}\n`,
    );
  });
});

describe('createHeader', () => {
  test('builds the same bytes whatever the order of the entries', () => {
    const entries = sampleEntries();
    const a = encodeHeader(createHeader({ ...base, manifest: { entries } }));
    const b = encodeHeader(
      createHeader({ ...base, manifest: { entries: [...entries].reverse() } }),
    );
    expect(a).toEqual(b);
  });

  test('stores commit in lowercase and leaves absent provenance fields absent', () => {
    const header = createHeader({
      ...base,
      provenance: { commit: 'ABCDEF'.repeat(10) + 'abcd', builder: { id: 'b', version: '2' } },
    });
    expect(header.provenance).toEqual({
      commit: 'abcdef'.repeat(10) + 'abcd',
      builder: { id: 'b', version: '2' },
    });
    expect(
      createHeader({
        ...base,
        provenance: { commit: 'a'.repeat(64), builder: { id: 'b', version: '2' } },
      }).provenance.commit,
    ).toBe('a'.repeat(64));
    expect(header.payload.media_type).toBe('application/octet-stream');
  });

  test.each([
    ['short commit', { commit: 'abc123' }],
    ['non-hex commit', { commit: 'g'.repeat(40) }],
    ['source that is neither URL nor owner/repo', { source: 'not a source' }],
    ['source with a password', { source: 'https://user:s3cret-token@example.com/acme/gw' }],
    ['https source with a token as user', { source: 'https://s3cret-token@github.com/acme/gw' }],
    ['source with an unknown scheme', { source: 'ftp://example.com/acme/gw' }],
    ['source with a .. segment', { source: 'acme/..' }],
    ['ref with a space', { ref: 'refs/heads/my branch' }],
    ['ref with ..', { ref: 'refs/heads/a..b' }],
    ['ref ending in .lock', { ref: 'refs/heads/x.lock' }],
    ['build_url that is not http', { build_url: 'file:///tmp/x' }],
    ['build_url that is not a URL', { build_url: 'nope' }],
    ['empty builder id', { builder: { id: '', version: '1' } }],
    ['builder version with a newline', { builder: { id: 'x', version: '1\n2' } }],
  ])('refuses a %s with PLB_PROVENANCE_INVALID, never echoing the value', (_, extra) => {
    try {
      createHeader({ ...base, provenance: { builder: { id: 'test', version: '1' }, ...extra } });
      expect.unreachable();
    } catch (error) {
      expect(PlumblineError.is(error, 'PLB_PROVENANCE_INVALID')).toBe(true);
      expect((error as Error).message).not.toContain('s3cret');
    }
  });

  test.each([
    ['acme/gateway'],
    ['group/sub/repo'],
    ['https://github.com/acme/gateway'],
    ['ssh://git@github.com/acme/gateway.git'],
    ['git+https://example.com/acme/gw.git'],
  ])('accepts the source %s', (source) => {
    expect(
      createHeader({ ...base, provenance: { source, builder: { id: 't', version: '1' } } })
        .provenance.source,
    ).toBe(source);
  });

  test('validates extensions: reverse-DNS keys, integer numbers, JSON values only', () => {
    const ok = createHeader({
      ...base,
      extensions: { 'com.example.gw': { routes: [1, 'a', null, true] } },
    });
    expect(ok.extensions).toEqual({ 'com.example.gw': { routes: [1, 'a', null, true] } });
    expect(codeOf(() => createHeader({ ...base, extensions: { routes: 1 } }))).toBe(
      'PLB_EXTENSION_INVALID',
    );
    expect(codeOf(() => createHeader({ ...base, extensions: { 'Com.example': 1 } }))).toBe(
      'PLB_EXTENSION_INVALID',
    );
    expect(codeOf(() => createHeader({ ...base, extensions: { 'com.example.x': 1.5 } }))).toBe(
      'PLB_EXTENSION_INVALID',
    );
    expect(
      codeOf(() =>
        createHeader({ ...base, extensions: { 'com.example.x': [new Date()] as never } }),
      ),
    ).toBe('PLB_EXTENSION_INVALID');
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(
      codeOf(() => createHeader({ ...base, extensions: { 'com.example.x': deep as never } })),
    ).toBe('PLB_EXTENSION_INVALID');
  });

  test('validates the payload and the manifest root', () => {
    expect(
      codeOf(() => createHeader({ ...base, payload: { digest: 'sha256:xyz' as never, size: 1 } })),
    ).toBe('PLB_PAYLOAD_INVALID');
    expect(
      codeOf(() => createHeader({ ...base, payload: { digest: digest('a'), size: -1 } })),
    ).toBe('PLB_PAYLOAD_INVALID');
    expect(
      codeOf(() => createHeader({ ...base, payload: { digest: digest('a'), size: 1.5 } })),
    ).toBe('PLB_PAYLOAD_INVALID');
    expect(
      codeOf(() =>
        createHeader({ ...base, payload: { digest: digest('a'), size: 1, media_type: 'nope' } }),
      ),
    ).toBe('PLB_PAYLOAD_INVALID');
    expect(
      codeOf(() =>
        createHeader({ ...base, manifest: { entries: sampleEntries(), root: digest('0') } }),
      ),
    ).toBe('PLB_ROOT_MISMATCH');
    expect(
      codeOf(() =>
        createHeader({
          ...base,
          manifest: { entries: [{ path: '../x', size: 1, digest: digest('1') }] },
        }),
      ),
    ).toBe('PLB_PATH_ESCAPE');
  });

  test('accepts payloads beyond 4 GiB and encodes their size as an integer', () => {
    const header = createHeader({ ...base, payload: { digest: digest('b'), size: 5 * 2 ** 30 } });
    expect(decodeHeader(encodeHeader(header)).payload.size).toBe(5 * 2 ** 30);
  });
});

describe('build timestamp', () => {
  test('SOURCE_DATE_EPOCH wins over buildTimestamp, and the environment is read when not given', () => {
    expect(resolveBuildTimestamp({ sourceDateEpoch: '0', buildTimestamp: new Date() })).toBe(
      '1970-01-01T00:00:00Z',
    );
    const saved = process.env['SOURCE_DATE_EPOCH'];
    process.env['SOURCE_DATE_EPOCH'] = '1700000000';
    try {
      expect(resolveBuildTimestamp({ buildTimestamp: 5 })).toBe('2023-11-14T22:13:20Z');
      expect(resolveBuildTimestamp({ buildTimestamp: 5, sourceDateEpoch: null })).toBe(
        '1970-01-01T00:00:05Z',
      );
    } finally {
      if (saved === undefined) delete process.env['SOURCE_DATE_EPOCH'];
      else process.env['SOURCE_DATE_EPOCH'] = saved;
    }
  });

  test('normalizes to UTC whole seconds', () => {
    expect(normalizeTimestamp('2024-05-01T12:00:00.750+02:00')).toBe('2024-05-01T10:00:00Z');
    expect(normalizeTimestamp(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 999)))).toBe(
      '2024-01-02T03:04:05Z',
    );
    expect(normalizeTimestamp(1.9)).toBe('1970-01-01T00:00:01Z');
    expect(resolveBuildTimestamp({ sourceDateEpoch: null })).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/,
    );
  });

  test.each(['-1', '1.5', 'abc', '99999999999999', ' '])(
    'refuses SOURCE_DATE_EPOCH=%j',
    (value) => {
      expect(codeOf(() => timestampFromSourceDateEpoch(value))).toBe(
        'PLB_SOURCE_DATE_EPOCH_INVALID',
      );
    },
  );

  test.each(['yesterday', '2024-13-01T00:00:00Z', '1960-01-01T00:00:00Z', Number.NaN])(
    'refuses the build time %j',
    (value) => {
      expect(codeOf(() => normalizeTimestamp(value))).toBe('PLB_TIMESTAMP_INVALID');
    },
  );
});

describe('decodeHeader', () => {
  const sample = (): Record<string, unknown> =>
    JSON.parse(headerToJson(sampleHeader())) as Record<string, unknown>;

  test('keeps unknown fields of the same major version and re-encodes them identically', () => {
    const value = { ...sample(), format: 'plumbline.header/v1.3', future_field: { a: [1, 2] } };
    const bytes = encodeCanonical(value);
    const header = decodeHeader(bytes);
    expect((header as unknown as Record<string, unknown>)['future_field']).toEqual({ a: [1, 2] });
    expect(encodeHeader(header)).toEqual(bytes);
  });

  test('refuses another major version with PLB_UNSUPPORTED_VERSION', () => {
    expect(
      codeOf(() => decodeHeader(encodeCanonical({ ...sample(), format: 'plumbline.header/v2' }))),
    ).toBe('PLB_UNSUPPORTED_VERSION');
    expect(codeOf(() => decodeHeader(encodeCanonical({ format: 'plumbline.header/v0' })))).toBe(
      'PLB_UNSUPPORTED_VERSION',
    );
  });

  test.each<[string, (h: Record<string, unknown>) => unknown]>([
    ['another format', (h) => ({ ...h, format: 'something/v1' })],
    ['a missing field', (h) => ({ ...h, payload: undefined })],
    ['an invalid timestamp', (h) => ({ ...h, build_timestamp: '2023-02-30T00:00:00Z' })],
    ['a fractional timestamp', (h) => ({ ...h, build_timestamp: '2023-02-03T00:00:00.5Z' })],
    [
      'an uppercase commit',
      (h) => ({ ...h, provenance: { ...(h['provenance'] as object), commit: 'A'.repeat(40) } }),
    ],
    ['a bad extension key', (h) => ({ ...h, extensions: { x: 1 } })],
    ['a top-level array', () => [1]],
  ])('refuses %s with PLB_HEADER_INVALID', (_, mutate) => {
    expect(codeOf(() => decodeHeader(encodeCanonical(mutate(sample()) as never)))).toBe(
      'PLB_HEADER_INVALID',
    );
  });

  test('refuses floats, duplicate keys and byte strings inside a header', () => {
    const bytes = encodeHeader(sampleHeader());
    // Replace the payload size (1 byte integer 0x18 xx) by hand-made CBOR in an extension value.
    const withFloat = new Uint8Array([0xa1, 0x61, 0x61, 0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    expect(codeOf(() => decodeHeader(withFloat))).toBe('PLB_CBOR_FLOAT');
    expect(codeOf(() => decodeHeader(new Uint8Array([0xa2, 0x61, 0x61, 1, 0x61, 0x61, 2])))).toBe(
      'PLB_CBOR_DUPLICATE_KEY',
    );
    expect(codeOf(() => decodeHeader(new Uint8Array([0xa1, 0x61, 0x61, 0x41, 0])))).toBe(
      'PLB_CBOR_UNSUPPORTED',
    );
    expect(codeOf(() => decodeHeader(bytes, { maxHeaderBytes: 100 }))).toBe('PLB_LIMIT_BYTES');
    expect(codeOf(() => decodeHeader(bytes, { maxEntries: 2 }))).toBe('PLB_LIMIT_ENTRIES');
  });

  test('parseHeader validates JSON values the same way', () => {
    expect(parseHeader(sample()).artifact_hash).toBe(sampleHeader().artifact_hash);
    expect(codeOf(() => parseHeader(null))).toBe('PLB_HEADER_INVALID');
    expect(codeOf(() => encodeHeader({ ...sampleHeader(), hash_alg: 'md5' } as never))).toBe(
      'PLB_HEADER_INVALID',
    );
  });

  test('bit flips and truncations of a header end in a PlumblineError or a valid header, never another exception', () => {
    const bytes = encodeHeader(sampleHeader());
    fc.assert(
      fc.property(fc.nat(bytes.length * 8 - 1), fc.nat(bytes.length), (bit, cut) => {
        const flipped = bytes.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        for (const input of [flipped, bytes.subarray(0, cut)]) {
          try {
            decodeHeader(input);
          } catch (error) {
            expect(PlumblineError.is(error)).toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('checkHeader', () => {
  const header = sampleHeader();

  test('finds a tampered artifact_hash, unsorted inputs and invalid paths', () => {
    expect(checkHeader({ ...header, artifact_hash: digest('0') }).map((p) => p.code)).toEqual([
      'PLB_ROOT_MISMATCH',
    ]);
    const reversed = { ...header, inputs: [...header.inputs].reverse() } as ProvenanceHeader;
    expect(checkHeader(reversed).map((p) => p.code)).toEqual(['PLB_HEADER_INPUTS_UNSORTED']);
    const bad = {
      ...header,
      inputs: [{ path: '/abs', size: 1, digest: digest('1') }],
    } as ProvenanceHeader;
    expect(checkHeader(bad).map((p) => p.code)).toEqual(['PLB_PATH_ESCAPE']);
    const changed = {
      ...header,
      inputs: header.inputs.map((e, i) => (i === 0 ? { ...e, digest: digest('9') } : e)),
    };
    expect(checkHeader(changed).map((p) => p.code)).toEqual(['PLB_ROOT_MISMATCH']);
  });

  test('a consistent header has no problems, and its payload matches the sample bytes', () => {
    expect(checkHeader(header)).toEqual([]);
    expect(header.payload.size).toBe(SAMPLE_PAYLOAD.length);
  });
});
