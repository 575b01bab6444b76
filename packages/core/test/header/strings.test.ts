import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';
import { createRedactor } from '@plumbline/core/audit';
import { encodeCanonical } from '../../src/cbor/encode.js';
import { decodeHeader, encodeHeader, normalizeProvenance } from '@plumbline/core/header';
import type { ProvenanceHeader } from '@plumbline/core/header';
import { makeHeader } from '../verify/candidates.js';

const builder = { id: 'ci', version: '1' };

function refusal(fn: () => unknown): PlumblineError {
  try {
    fn();
  } catch (error) {
    if (PlumblineError.is(error)) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('provenance URLs never store a credential', () => {
  const secret = 'ghs_T0kEnV4lue9f8e7d6c5';
  const cases: [string, Record<string, unknown>][] = [
    ['source', { source: `https://h.example/o/r?access_token=${secret}` }],
    ['source', { source: `https://h.example/o/r?x=1&private_token=${secret}` }],
    ['source', { source: `https://h.example/o/r#access_token=${secret}` }],
    ['source', { source: `https://${secret}@h.example/o/r` }],
    ['source', { source: `https://oauth2:${secret}@h.example/o/r` }],
    ['source', { source: `ssh://git:${secret}@h.example/o/r` }],
    ['build_url', { build_url: `https://ci.example/b/1?sig=${secret}` }],
    ['build_url', { build_url: `https://ci.example/b/1?api_key=${secret}` }],
    ['build_url', { build_url: `https://u:${secret}@ci.example/b/1` }],
    ['builder.id', { builder: { id: `https://ci.example/b?token=${secret}`, version: '1' } }],
  ];
  it.each(cases)(
    'refuses %s with a credential, naming the field and never the value',
    (field, extra) => {
      const error = refusal(() => normalizeProvenance({ builder, ...extra }));
      expect(error.code).toBe('PLB_PROVENANCE_INVALID');
      expect(error.message).toContain(field);
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error.details)).not.toContain(secret);
    },
  );

  it('keeps URLs without credentials, an ssh user name included', () => {
    for (const source of [
      'https://github.com/acme/gateway',
      'https://github.com/acme/gateway?ref=main',
      'ssh://git@github.com/acme/gateway',
      'acme/gateway',
    ]) {
      expect(normalizeProvenance({ builder, source }).source).toBe(source);
    }
    expect(
      normalizeProvenance({ builder, build_url: 'https://ci.example/run/7?attempt=2' }).build_url,
    ).toBe('https://ci.example/run/7?attempt=2');
  });

  it('refuses every query parameter the audit redactor would redact (property)', () => {
    const redact = createRedactor();
    fc.assert(
      fc.property(
        fc.constantFrom(
          'token',
          'access_token',
          'secret',
          'password',
          'api-key',
          'sig',
          'auth',
          'x_session',
        ),
        fc.stringMatching(/^[A-Za-z0-9]{8,20}$/),
        (name, value) => {
          const url = `https://h.example/o/r?${name}=${value}`;
          expect(redact(url)).not.toBe(url);
          expect(() => normalizeProvenance({ builder, source: url })).toThrow(/source/);
        },
      ),
      { seed: 7, numRuns: 100 },
    );
  });
});

describe('control characters in header strings', () => {
  it.each([
    ['source', { source: 'https://h.example/o/r\r\nverified: yes' }],
    ['source', { source: 'https://h.example/o/r\u001b[2J' }],
    ['build_url', { build_url: 'https://ci.example/1\nverified: yes' }],
    ['builder.id', { builder: { id: 'ci\u0007', version: '1' } }],
  ])('the writer refuses %s with a control character', (field, extra) => {
    const error = refusal(() => normalizeProvenance({ builder, ...extra }));
    expect(error.code).toBe('PLB_PROVENANCE_INVALID');
    expect(error.message).toContain(field);
  });

  const crafted: [string, (h: ProvenanceHeader) => unknown][] = [
    [
      'provenance.builder.id',
      (h) => ({
        ...h,
        provenance: { ...h.provenance, builder: { id: 'x\u001b]0;pwned\u0007', version: '1' } },
      }),
    ],
    [
      'provenance.source',
      (h) => ({ ...h, provenance: { ...h.provenance, source: 'https://h/o\r\nverified: yes' } }),
    ],
    [
      'payload.media_type',
      (h) => ({ ...h, payload: { ...h.payload, media_type: 'text/plain\u009b2J' } }),
    ],
    [
      'extensions.org.example.note',
      (h) => ({ ...h, extensions: { 'org.example': { note: 'a\u007fb' } } }),
    ],
    ['inputs.0.media_type', (h) => ({ ...h, inputs: [{ ...h.inputs[0]!, media_type: 'a\tb' }] })],
  ];
  it.each(crafted)('a reader refuses a header with a control character at %s', (path, mutate) => {
    const bytes = encodeCanonical(mutate(makeHeader()) as Record<string, unknown>);
    const error = refusal(() => decodeHeader(bytes));
    expect(error.code).toBe('PLB_HEADER_INVALID');
    expect(error.message).toContain(path);
    // And the writer refuses the same header.
    expect(refusal(() => encodeHeader(mutate(makeHeader()) as ProvenanceHeader)).code).toBe(
      'PLB_HEADER_INVALID',
    );
  });

  it('a header of printable text decodes', () => {
    const header = makeHeader({ extensions: { 'org.example': { note: 'café ✓ — fine' } } });
    expect(decodeHeader(encodeHeader(header)).extensions).toEqual(header.extensions);
  });
});
