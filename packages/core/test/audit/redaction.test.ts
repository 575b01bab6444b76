import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DENIED_KEYS,
  REDACTED,
  createAuditLogger,
  createRedactor,
  MemoryAuditSink,
  type AuditEventInput,
} from '@plumbline/core/audit';
import { createRedactorCore } from '../../src/audit/redact.js';

const enc = (s: string): string => Buffer.from(s).toString('base64url');
const ALNUM = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const core = fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 24, maxLength: 32 });
const upper = fc.string({
  unit: fc.constantFrom(...ALNUM.slice(0, 26), ...ALNUM.slice(52)),
  minLength: 16,
  maxLength: 16,
});
const word = fc.constantFrom('a', 'node', 'list', 'meta', 'spec', 'x', 'items', 'cfg');

/** A secret and the text that carries it (the secret alone must never be seen again). */
interface Placed {
  secret: string;
  text: string;
}

const detectable: fc.Arbitrary<Placed> = fc.oneof(
  core.map((s) => ({
    secret: s,
    text: `eyJ${enc('{"alg":"HS256","typ":"JWT"}').slice(3)}.${enc('{"sub":"x"}')}.${s}`,
  })),
  core.map((s) => ({ secret: s, text: `Bearer ${s}` })),
  core.map((s) => ({ secret: s, text: `authorization: Basic ${s}` })),
  core.map((s) => ({
    secret: s,
    text: `-----BEGIN PRIVATE KEY-----\nMII${s}\n-----END PRIVATE KEY-----`,
  })),
  core.map((s) => ({ secret: s, text: `-----BEGIN EC PRIVATE KEY-----\n${s}` })),
  upper.map((s) => ({ secret: `AKIA${s}`, text: `key id AKIA${s} used` })),
  core.map((s) => ({ secret: s, text: `https://deploy:${s}@git.example.com/repo.git` })),
  core.map((s) => ({ secret: s, text: `postgres://app:${s}@db:5432/x` })),
  core.map((s) => ({ secret: s, text: `https://api.example.com/v1?user=a&access_token=${s}&x=1` })),
  core.map((s) => ({ secret: s, text: `https://s3.example.com/o?X-Amz-Signature=${s}` })),
  core.map((s) => ({ secret: s, text: `login failed: password=${s}, retrying` })),
  core.map((s) => ({ secret: s, text: `client_secret: "${s}"` })),
  core.map((s) => ({ secret: s, text: `ghp_${s}` })),
  core.map((s) => ({ secret: s, text: `xoxb-${s}` })),
  core.map((s) => ({ secret: s, text: `sk_live_${s}` })),
  core.map((s) => ({
    secret: s,
    text: `DefaultEndpointsProtocol=https;AccountKey=${s};EndpointSuffix=x`,
  })),
);

const deniedKey = fc.constantFrom(
  'password',
  'Password',
  'db_password',
  'PRIVATE-KEY',
  'privateKey',
  'x-api-key',
  'Authorization',
  'cookie',
  'Set-Cookie',
  'client.secret',
  'refresh_token',
  'AWS_SECRET_ACCESS_KEY',
  'sessionId',
);

type Json = unknown;

/** Puts `leaf` at a random depth and position inside a random JSON-ish structure. */
function nest(leaf: Json): fc.Arbitrary<Json> {
  return fc
    .array(
      fc.oneof(
        fc.record({
          kind: fc.constant('obj' as const),
          key: word,
          siblings: fc.dictionary(
            fc.stringMatching(/^[a-z]{1,6}$/),
            fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean()),
          ),
        }),
        fc.record({ kind: fc.constant('arr' as const), index: fc.integer({ min: 0, max: 3 }) }),
      ),
      { maxLength: 8 },
    )
    .map((path) => {
      let value: Json = leaf;
      for (const step of path.reverse()) {
        if (step.kind === 'obj') value = { ...step.siblings, [step.key]: value };
        else value = [...Array.from({ length: step.index }, (_, i) => i), value];
      }
      return value;
    });
}

/** A secret in one of the places the issue names: keys, values, arrays, error messages, URLs. */
const placement: fc.Arbitrary<{
  secret: string;
  details: Json;
  reason?: string;
  subject?: string;
}> = fc.oneof(
  // A detectable secret as a value.
  detectable.chain((p) =>
    nest(p.text).map((details) => ({ secret: p.secret, details: { v: details } })),
  ),
  // Any value under a denied key.
  fc
    .tuple(deniedKey, core)
    .chain(([key, s]) =>
      nest({ [key]: s }).map((details) => ({ secret: s, details: { v: details } })),
    ),
  // A non-string value under a denied key.
  fc
    .tuple(deniedKey, core)
    .chain(([key, s]) =>
      nest({ [key]: { nested: [s] } }).map((details) => ({ secret: s, details: { v: details } })),
    ),
  // A detectable secret as a key.
  detectable.chain((p) =>
    nest({ [p.text]: 1 }).map((details) => ({ secret: p.secret, details: { v: details } })),
  ),
  // Inside an error's message.
  detectable.chain((p) =>
    nest(new Error(`request failed: ${p.text}`)).map((details) => ({
      secret: p.secret,
      details: { error: details },
    })),
  ),
  // In the reason and the subject id.
  detectable.map((p) => ({ secret: p.secret, details: {}, reason: `because ${p.text}` })),
  detectable.map((p) => ({ secret: p.secret, details: {}, subject: p.text })),
  // Inside a Map or Set.
  detectable.map((p) => ({
    secret: p.secret,
    details: { m: new Map([['k', p.text]]), s: new Set([p.text]) },
  })),
);

describe('redaction', () => {
  it('never lets a generated secret into an event, a log line, a metric or an error (property)', async () => {
    const sink = new MemoryAuditSink({ name: 'mem' });
    const errors: string[] = [];
    const logger = createAuditLogger({
      source: { component: 'redaction-test' },
      sinks: [{ sink, delivery: 'must-write' }],
      rateLimit: false,
      onError: (e) => errors.push(`${e.message} ${JSON.stringify(e.details)}`),
    });
    await fc.assert(
      fc.asyncProperty(placement, fc.boolean(), async (p, failing) => {
        const before = sink.records.length;
        const input: AuditEventInput = {
          type: 'test.secret_placed',
          outcome: 'failure',
          actor: { type: 'user', id: 'alice' },
          details: p.details as Record<string, unknown>,
          ...(p.reason ? { reason: p.reason } : {}),
          ...(p.subject ? { subject: { type: 'thing', id: p.subject } } : {}),
        };
        sink.failWith(failing ? new Error('disk full') : undefined);
        let errorText = '';
        try {
          await logger.emit(input);
        } catch (error) {
          errorText = `${(error as Error).message} ${JSON.stringify((error as { details?: unknown }).details)}`;
        }
        const written = sink.records
          .slice(before)
          .map((r) => r.json)
          .join('\n');
        if (!failing) expect(written.length).toBeGreaterThan(0);
        expect(written).not.toContain(p.secret);
        expect(errorText).not.toContain(p.secret);
        expect(JSON.stringify(logger.metrics())).not.toContain(p.secret);
        expect(errors.join('\n')).not.toContain(p.secret);
      }),
      { numRuns: 300 },
    );
    sink.failWith(undefined);
    await logger.close();
  });

  it('keeps artifact digests after the word "digest" and still redacts Digest credentials', () => {
    const redact = createRedactor();
    const digest = `sha256:${'ab'.repeat(32)}`;
    const message = `header digest ${digest} does not match manifest root sha384:${'cd'.repeat(48)}`;
    expect(redact(message)).toBe(message);
    expect(redact(`Digest sha512:${'ef'.repeat(64)}`)).toBe(`Digest sha512:${'ef'.repeat(64)}`);
    expect(redact('Authorization: Digest dXNlcm5hbWU9ImFsaWNlIg')).toBe(
      `Authorization: ${REDACTED}`,
    );
    expect(redact('Token abcdef123456 expired')).toBe(`${REDACTED} expired`);
  });

  it('keeps context around redacted values and handles every value kind', () => {
    const redact = createRedactor({ maxDepth: 4, maxStringLength: 20, maxEntries: 3 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const kinds = {
      url: 'https://u:p@h/x',
      n: Number.NaN,
      big: 10n,
      d: new Date(0),
      bad: new Date(Number.NaN),
      bytes: new Uint8Array(3),
      f: () => 1,
      u: undefined,
      s: Symbol('x'),
    };
    expect(createRedactor()(kinds)).toEqual({
      url: `https://${REDACTED}@h/x`,
      n: 'NaN',
      big: '10',
      d: '1970-01-01T00:00:00.000Z',
      bad: null,
      bytes: '[3 bytes]',
    });
    expect(redact(kinds)).toEqual({
      url: `https://${REDACTED}@h/x`,
      n: 'NaN',
      big: '10',
      '[TRUNCATED]': '6 more keys',
    });
    expect(redact(cyclic)).toEqual({ a: 1, self: '[CIRCULAR]' });
    expect(redact({ a: { b: { c: { d: { e: 1 } } } } })).toEqual({
      a: { b: { c: { d: '[TRUNCATED]' } } },
    });
    expect(createRedactor()(cyclic)).toEqual({ a: 1, self: '[CIRCULAR]' });
    // Cycles through a Map, a Set and an array; a value seen twice but not on its own path is kept.
    const map = new Map<string, unknown>([['n', 1]]);
    map.set('me', map);
    const set = new Set<unknown>(['x']);
    set.add(set);
    const list: unknown[] = [1];
    list.push(list);
    const shared = { token: 'abc', v: 2 };
    expect(createRedactor()({ map, set, list, one: shared, two: [shared] })).toEqual({
      map: { n: 1, me: '[CIRCULAR]' },
      set: ['x', '[CIRCULAR]'],
      list: [1, '[CIRCULAR]'],
      one: { token: REDACTED, v: 2 },
      two: [{ token: REDACTED, v: 2 }],
    });
    // An instance of a class is walked like a plain object (own enumerable keys).
    class Creds {
      user = 'ops';
      password = 'hunter2';
    }
    expect(createRedactor()({ c: new Creds(), o: Object.create(null) as object })).toEqual({
      c: { user: 'ops', password: REDACTED },
      o: {},
    });
    expect(redact('x'.repeat(30))).toBe(`${'x'.repeat(20)}…[TRUNCATED]`);
    expect(redact([1, 2, 3, 4, 5])).toEqual([1, 2, 3, '[2 more]']);
    expect(redact([undefined])).toEqual([null]);
    expect(createRedactor()({ password: '', token: null, secret: undefined, apiKey: 12 })).toEqual({
      password: '',
      token: null,
      secret: null,
      apiKey: REDACTED,
    });
    const e = Object.assign(new Error('boom token=abcdefgh'), { code: 'E_X' });
    expect(createRedactor()({ e })).toEqual({
      e: { name: 'Error', message: `boom token=${REDACTED}`, code: 'E_X' },
    });
    expect(createRedactor()('https://example.com/ok?page=2 and https://x@host/ ok')).toBe(
      `https://example.com/ok?page=2 and https://${REDACTED}@host/ ok`,
    );
    expect(createRedactor()('plain text without secrets')).toBe('plain text without secrets');
    expect(DEFAULT_DENIED_KEYS).toContain('password');
  });

  it('honours allowed keys, extra keys and extra patterns', () => {
    const redact = createRedactor({
      allowedKeys: ['token_name'],
      deniedKeys: ['ssn'],
      patterns: [/\b\d{3}-\d{2}-\d{4}\b/],
    });
    expect(redact({ token_name: 'ci', tokenName: 'ci', ssn: '1', note: 'id 123-45-6789' })).toEqual(
      { token_name: 'ci', tokenName: 'ci', ssn: REDACTED, note: `id ${REDACTED}` },
    );
    const nonGlobal = createRedactor({ patterns: [/secret-\w+/] });
    expect(nonGlobal('a secret-one and secret-two')).toBe(`a ${REDACTED} and ${REDACTED}`);
    expect(() => createRedactor({ maxDepth: 0 })).toThrow(/maxDepth/);
  });

  it('fingerprints equal secrets equally under a key, without revealing them', () => {
    const key = new Uint8Array(32).fill(7);
    const redact = createRedactor({ fingerprintKey: key });
    const a = redact({ password: 'hunter2hunter2' }) as { password: string };
    const b = redact({ password: 'hunter2hunter2' }) as { password: string };
    const c = redact({ password: 'other' }) as { password: string };
    expect(a.password).toMatch(/^\[REDACTED:hmac:[0-9a-f]{16}\]$/);
    expect(a.password).toBe(b.password);
    expect(c.password).not.toBe(a.password);
    const other = createRedactor({ fingerprintKey: new Uint8Array(100).fill(1) })({
      password: 'hunter2hunter2',
    }) as { password: string };
    expect(other.password).not.toBe(a.password);
    // Fingerprints are not re-redacted inside URLs.
    expect(redact('https://h/?token=abc')).toMatch(/token=\[REDACTED:hmac:[0-9a-f]{16}\]/);
  });

  it('skipping the detectors whose hints a string lacks never changes the result (property)', () => {
    // Fragments of every detector and hint, in any case, next to characters whose case mapping is
    // unusual (Kelvin sign, long s, dotted capital I) and separators.
    const fragment = fc.oneof(
      detectable.map((p) => p.text),
      fc.constantFrom(
        'Bearer ',
        'basic',
        'DIGEST ',
        'token',
        'Bot ',
        'eyJ',
        'AKIA',
        'ASIA',
        'aws_secret_access_key',
        'AIza',
        'ghp_',
        'github_pat_',
        'glpat-',
        'xoxb-',
        'sk_live_',
        'rk_test_',
        'npm_',
        'AccountKey=',
        '://',
        '@',
        '-----BEGIN ',
        'PRIVATE KEY-----',
        'password',
        'PassPhrase',
        'pwd',
        'secret',
        'api_key',
        'Access-Key',
        'private_key',
        'Authorization',
        'cookie',
        'credentials',
        '?',
        '&',
        '#',
        ';',
        '=',
        ':',
        '"',
        "'",
        ' ',
        '\u212a',
        '\u017f',
        '\u0130',
        'é',
      ),
      fc.string({ unit: fc.constantFrom(...ALNUM), maxLength: 40 }),
    );
    const filler = fc.string({ unit: fc.constantFrom(...ALNUM, ' ', '.'), maxLength: 80 });
    const text = fc.oneof(
      fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join('')),
      // One fragment in long plain text, so the hints-first path for long strings is taken.
      fc
        .tuple(
          fc.string({ unit: fc.constantFrom(...ALNUM, ' '), minLength: 64, maxLength: 100 }),
          fragment,
          fc.constantFrom('=', ': ', ' ', ''),
          filler,
          filler,
        )
        .map(([a, f, sep, v, b]) => `${a} ${f}${sep}${v} ${b}`),
    );
    const key = new Uint8Array(32).fill(7);
    for (const options of [{}, { fingerprintKey: key }]) {
      const hinted = createRedactorCore(options);
      const every = createRedactorCore(options, { hints: false });
      fc.assert(
        fc.property(text, (t) => {
          expect(hinted.field(t, 0)).toBe(every.field(t, 0));
        }),
        { numRuns: 2000 },
      );
    }
  });
});
