import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  canonicalJson,
  canonicalizeJson,
  createSecretRedactor,
  parseJsonBounded,
  type JsonValue,
} from '@plumbline/core/probe';

const enc = new TextEncoder();

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return undefined;
}

function shuffleKeys(value: JsonValue, random: () => number): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: JsonValue) => shuffleKeys(v, random));
  const entries = Object.entries(value as Record<string, JsonValue>);
  entries.sort(() => random() - 0.5);
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, random)]));
}

describe('RFC 8785 canonical JSON', () => {
  it('writes the RFC 8785 §3.2.2 example exactly', () => {
    const input =
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
      '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n' +
      '  "literals": [null, true, false]\n}';
    expect(new TextDecoder().decode(canonicalizeJson(enc.encode(input)).bytes)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts members by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(value)) as object);
    // Object.keys puts the integer-like "1" first; read the order from the text instead.
    expect(keys).toContain('1');
    const text = canonicalJson(value);
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) =>
      text.indexOf(JSON.stringify(k)),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('is independent of member order, whitespace and number spelling (property)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.integer({ min: 0, max: 4 }),
        fc.integer(),
        (value, indent, seed) => {
          let state = seed;
          const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
          const a = canonicalJson(JSON.parse(JSON.stringify(value)) as JsonValue);
          const reformatted = JSON.stringify(shuffleKeys(value as JsonValue, random), null, indent);
          expect(canonicalJson(JSON.parse(reformatted) as JsonValue)).toBe(a);
          expect(JSON.parse(a)).toEqual(JSON.parse(JSON.stringify(value)));
          expect(canonicalJson(JSON.parse(a) as JsonValue)).toBe(a);
        },
      ),
    );
  });

  it('refuses lone surrogates, deep nesting, non-JSON and oversized input with codes', () => {
    expect(codeOf(() => canonicalJson({ a: '\ud800' }))).toBe('PLB_PROBE_MALFORMED');
    expect(codeOf(() => parseJsonBounded('['.repeat(300) + ']'.repeat(300), 256))).toBe(
      'PLB_PROBE_MALFORMED',
    );
    expect(parseJsonBounded('['.repeat(10) + ']'.repeat(10), 10)).toBeDefined();
    expect(codeOf(() => parseJsonBounded('{"a":', 10))).toBe('PLB_PROBE_MALFORMED');
    expect(codeOf(() => canonicalizeJson(enc.encode('{"a":1}'), { maxBytes: 6 }))).toBe(
      'PLB_PROBE_TOO_LARGE',
    );
    expect(codeOf(() => canonicalizeJson(new Uint8Array([0x22, 0xff, 0x22])))).toBe(
      'PLB_PROBE_MALFORMED',
    );
  });

  it('counts brackets inside strings as text, not nesting', () => {
    expect(parseJsonBounded(`{"a":"${'['.repeat(50)}"}`, 2)).toEqual({ a: '['.repeat(50) });
  });

  it('never throws anything but a coded error on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          canonicalizeJson(bytes);
        } catch (error) {
          expect(PlumblineError.is(error)).toBe(true);
        }
      }),
    );
  });
});

describe('secret redaction in canonical JSON', () => {
  const key = new Uint8Array(32).fill(7);

  it('replaces secrets by keyed markers: the secret never appears, a changed secret changes the digest', () => {
    const redactor = createSecretRedactor({ key });
    const config = (password: string, pem: string) => ({
      apps: {
        tls: { certificates: { load_pem: [{ certificate: 'CERT', key: pem }] } },
        http: {
          upstream: `https://svc:${password}@10.0.0.1:8443/`,
          headers: { Authorization: [`Basic ${password}`] },
          db_password: password,
        },
      },
    });
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n';
    const one = canonicalJson(config('hunter22', pem), redactor);
    expect(one).not.toContain('hunter22');
    expect(one).not.toContain('MIIEv');
    expect(one).toContain('CERT');
    expect(one).toMatch(/\[redacted:[0-9a-f]{16}\]/);
    const two = canonicalJson(config('hunter23', pem), redactor);
    expect(two).not.toBe(one);
    expect(canonicalJson(config('hunter22', pem), createSecretRedactor({ key }))).toBe(one);
    expect(canonicalJson(config('hunter22', pem), createSecretRedactor())).not.toBe(one);
  });

  it('marks a PEM private key wherever it appears in a string', () => {
    const redactor = createSecretRedactor({ key });
    const text = canonicalJson(
      { note: 'x -----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY----- y' },
      redactor,
    );
    expect(text).not.toContain('AAAA');
    expect(text).toMatch(/"x \[redacted:[0-9a-f]{16}\] y"/);
  });
});
