import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  DRIFT_PROTOCOL,
  DRIFT_PROTOCOL_V1_1,
  DriftCloseCode,
  driftJsonSchemas,
  encodeFrame,
  fastHeartbeat,
  heartbeatSchema,
  isSupportedProtocol,
  parseControlPlaneFrame,
  parseDataPlaneFrame,
  type ControlPlaneFrame,
  type DataPlaneFrame,
  type HeartbeatFrame,
  type HelloFrame,
} from '@plumbline/core/drift';
import { utf8Length } from '../../src/encoding/utf8.js';
import { A, B } from './helpers.js';

const HELLO: HelloFrame = {
  type: 'hello',
  protocol: DRIFT_PROTOCOL,
  node_id: 'gw-1',
  cluster: 'prod-eu',
  instance_id: '3f1c2a9e-8f57-4d5e-9a64-0d5c2f7b9e11',
  artifact_hash: A,
  provenance: {
    commit: '8f3d2c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c',
    source: 'github.com/example/gateway-config',
    ref: 'refs/heads/main',
    build_timestamp: '2026-01-01T00:00:00Z',
    builder: { id: 'plumbline-cli', version: '0.1.0' },
  },
  loaded_at: '2026-01-01T00:05:00Z',
  sdk: '@plumbline/core@0.1.0',
  workers: [
    { id: 'w1', artifact_hash: A },
    { id: 'w2', artifact_hash: A },
  ],
};

const HEARTBEAT: HeartbeatFrame = {
  type: 'heartbeat',
  seq: 42,
  artifact_hash: A,
  loaded_at: '2026-01-01T00:05:00Z',
  workers: [{ id: 'w1', artifact_hash: A }],
  last_load_error: {
    artifact_hash: B,
    code: 'PLB_VERIFY_SIGNATURE',
    message: 'signature does not verify',
    at: '2026-01-01T00:06:00Z',
  },
};

const WELCOME: ControlPlaneFrame = {
  type: 'welcome',
  protocol: DRIFT_PROTOCOL,
  heartbeat_interval_ms: 5000,
  server_time: '2026-01-01T00:05:01.000Z',
};

const ERROR: ControlPlaneFrame = {
  type: 'error',
  code: 'PLB_DRIFT_IDENTITY_MISMATCH',
  message: 'the hello names another node or cluster than the authenticated identity',
};

const FRAMES = { hello: HELLO, heartbeat: HEARTBEAT, welcome: WELCOME, error: ERROR } as const;

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('drift protocol v1 frames', () => {
  it.each(Object.entries(FRAMES))(
    'pins the %s frame byte for byte (golden file)',
    (name, frame) => {
      const golden = new URL(`../golden/drift/${name}.json`, import.meta.url);
      const encoded = `${encodeFrame(frame)}\n`;
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, encoded);
      expect(readFileSync(golden, 'utf8')).toBe(encoded);
    },
  );

  it('parses what it encodes, and the golden frames validate against the committed JSON Schemas', () => {
    expect(parseDataPlaneFrame(encodeFrame(HELLO))).toEqual({ kind: 'frame', frame: HELLO });
    expect(parseDataPlaneFrame(encodeFrame(HEARTBEAT))).toEqual({
      kind: 'frame',
      frame: HEARTBEAT,
    });
    expect(parseControlPlaneFrame(encodeFrame(WELCOME))).toEqual({ kind: 'frame', frame: WELCOME });
    expect(parseControlPlaneFrame(encodeFrame(ERROR))).toEqual({ kind: 'frame', frame: ERROR });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const [name, schema] of Object.entries(driftJsonSchemas())) {
      const validate = ajv.compile(schema as object);
      const frame = FRAMES[name as keyof typeof FRAMES];
      expect(validate(JSON.parse(encodeFrame(frame))), name).toBe(true);
      expect(
        validate({ ...frame, extra_field_of_v1_1: true }),
        `${name} with an unknown field`,
      ).toBe(true);
      expect(validate({ ...frame, type: 'other' }), `${name} with another type`).toBe(false);
    }
  });

  it.each(Object.keys(FRAMES))(
    'commits docs/protocol/%s.schema.json exactly as generated',
    async (name) => {
      const file = new URL(`../../../../docs/protocol/${name}.schema.json`, import.meta.url);
      const schema = driftJsonSchemas()[name as keyof typeof FRAMES];
      const generated = await format(JSON.stringify(schema), {
        ...(await resolveConfig(file.pathname)),
        filepath: file.pathname,
      });
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, generated);
      expect(readFileSync(file, 'utf8')).toBe(generated);
    },
  );

  it('ignores unknown fields and unknown message types', () => {
    const parsed = parseDataPlaneFrame(JSON.stringify({ ...HEARTBEAT, future: { x: 1 } }));
    expect(parsed).toEqual({ kind: 'frame', frame: HEARTBEAT });
    expect(parseDataPlaneFrame('{"type":"metrics","anything":1}')).toEqual({
      kind: 'ignored',
      type: 'metrics',
    });
    expect(parseControlPlaneFrame('{"type":"config_push"}')).toEqual({
      kind: 'ignored',
      type: 'config_push',
    });
    expect(parseDataPlaneFrame(JSON.stringify({ type: 'x'.repeat(500) }))).toEqual({
      kind: 'ignored',
      type: 'x'.repeat(64),
    });
  });

  it('accepts minimal frames: null hashes, no optional fields', () => {
    const hello = {
      type: 'hello',
      protocol: DRIFT_PROTOCOL,
      node_id: 'n',
      cluster: 'c',
      instance_id: 'i',
      artifact_hash: null,
    };
    expect(parseDataPlaneFrame(JSON.stringify(hello))).toEqual({ kind: 'frame', frame: hello });
    const beat = {
      type: 'heartbeat',
      seq: 0,
      artifact_hash: null,
      loaded_at: null,
      last_load_error: null,
    };
    expect(parseDataPlaneFrame(JSON.stringify(beat))).toEqual({ kind: 'frame', frame: beat });
  });

  it('judges the protocol version: v1 and v1.N are spoken, other majors are not', () => {
    expect(isSupportedProtocol('plumbline.drift/v1')).toBe(true);
    expect(isSupportedProtocol('plumbline.drift/v1.7')).toBe(true);
    for (const p of [
      'plumbline.drift/v2',
      'plumbline.drift/v10',
      'plumbline.drift/v1.x',
      'other/v1',
      '',
    ]) {
      expect(isSupportedProtocol(p), p).toBe(false);
    }
  });

  it('refuses malformed frames with PLB_DRIFT_MALFORMED and close code 4400', () => {
    const bad: unknown[] = [
      'not json',
      '[]',
      'null',
      '42',
      '{"seq":1}',
      '{"type":7}',
      { ...HEARTBEAT, seq: -1 },
      { ...HEARTBEAT, seq: 1.5 },
      { ...HEARTBEAT, seq: '1' },
      { ...HEARTBEAT, seq: 2 ** 53 },
      { ...HEARTBEAT, artifact_hash: 'sha256:ABC' },
      { ...HEARTBEAT, artifact_hash: `sha256:${'A'.repeat(64)}` },
      { ...HEARTBEAT, loaded_at: 'yesterday' },
      { ...HEARTBEAT, workers: [{ id: '', artifact_hash: A }] },
      {
        ...HEARTBEAT,
        last_load_error: { ...HEARTBEAT.last_load_error, message: 'm'.repeat(1025) },
      },
      { ...HELLO, node_id: '' },
      { ...HELLO, node_id: 'has space' },
      { ...HELLO, node_id: 'n'.repeat(254) },
      { ...HELLO, cluster: undefined },
      { ...HELLO, instance_id: 7 },
      { ...HELLO, provenance: { builder: { id: 1 } } },
    ];
    for (const item of bad) {
      const text = typeof item === 'string' ? item : JSON.stringify(item);
      let caught: unknown;
      try {
        parseDataPlaneFrame(text);
      } catch (error) {
        caught = error;
      }
      expect(PlumblineError.is(caught, 'PLB_DRIFT_MALFORMED'), text.slice(0, 80)).toBe(true);
      expect((caught as PlumblineError).details['close_code']).toBe(DriftCloseCode.Malformed);
    }
    expect(
      codeOf(() =>
        parseControlPlaneFrame(
          '{"type":"welcome","protocol":"x","heartbeat_interval_ms":0,"server_time":"2026-01-01T00:00:00Z"}',
        ),
      ),
    ).toBe('PLB_DRIFT_MALFORMED');
    expect(codeOf(() => parseControlPlaneFrame('{"type":"error","code":""}'))).toBe(
      'PLB_DRIFT_MALFORMED',
    );
  });

  it('limits workers (configurable) and frame size in UTF-8 bytes before parsing', () => {
    const many = {
      ...HEARTBEAT,
      workers: Array.from({ length: 5 }, (_, i) => ({ id: `w${i}`, artifact_hash: A })),
    };
    expect(codeOf(() => parseDataPlaneFrame(JSON.stringify(many), { maxWorkers: 4 }))).toBe(
      'PLB_DRIFT_MALFORMED',
    );
    expect(parseDataPlaneFrame(JSON.stringify(many), { maxWorkers: 5 }).kind).toBe('frame');
    expect(
      codeOf(() =>
        parseDataPlaneFrame(
          JSON.stringify({
            ...HEARTBEAT,
            workers: Array.from({ length: 257 }, () => ({ id: 'w', artifact_hash: null })),
          }),
        ),
      ),
    ).toBe('PLB_DRIFT_MALFORMED');
    // A frame of exactly the limit passes; one byte more (a multi-byte character) does not.
    const base = JSON.stringify({ type: 'ping', pad: '' });
    const exact = JSON.stringify({ type: 'ping', pad: 'é'.repeat(100) });
    const limit = base.length + 200;
    expect(utf8Length(exact)).toBe(limit);
    expect(parseDataPlaneFrame(exact, { maxFrameBytes: limit }).kind).toBe('ignored');
    let caught: unknown;
    try {
      parseDataPlaneFrame(exact, { maxFrameBytes: limit - 1 });
    } catch (error) {
      caught = error;
    }
    expect(PlumblineError.is(caught, 'PLB_DRIFT_FRAME_TOO_BIG')).toBe(true);
    expect((caught as PlumblineError).details).toEqual({ limit: limit - 1, close_code: 1009 });
    expect(codeOf(() => parseDataPlaneFrame(`{"type":"ping","pad":"${'x'.repeat(70_000)}"}`))).toBe(
      'PLB_DRIFT_FRAME_TOO_BIG',
    );
    expect(codeOf(() => parseControlPlaneFrame('x'.repeat(100), { maxFrameBytes: 99 }))).toBe(
      'PLB_DRIFT_FRAME_TOO_BIG',
    );
  });

  it('refuses every truncation of a valid frame (property)', () => {
    const text = encodeFrame(HELLO);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: text.length - 1 }), (cut) => {
        expect(codeOf(() => parseDataPlaneFrame(text.slice(0, cut)))).toBe('PLB_DRIFT_MALFORMED');
      }),
    );
  });

  it('never throws anything but its coded errors on arbitrary input (property)', () => {
    const codes = new Set([undefined, 'PLB_DRIFT_MALFORMED', 'PLB_DRIFT_FRAME_TOO_BIG']);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.json({ maxDepth: 3 }),
          fc.jsonValue({ maxDepth: 3 }).map((v) =>
            JSON.stringify({
              type: 'heartbeat',
              ...(typeof v === 'object' && v !== null ? v : { v }),
            }),
          ),
        ),
        (text) => {
          expect(codes.has(codeOf(() => parseDataPlaneFrame(text, { maxFrameBytes: 200 })))).toBe(
            true,
          );
          expect(
            codes.has(codeOf(() => parseControlPlaneFrame(text, { maxFrameBytes: 200 }))),
          ).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips arbitrary valid heartbeats through encode and parse (property)', () => {
    const hashArb = fc.option(fc.constantFrom(A, B), { nil: null });
    const beatArb = fc.record(
      {
        type: fc.constant('heartbeat' as const),
        seq: fc.nat(),
        artifact_hash: hashArb,
        loaded_at: fc.option(fc.constant('2026-01-01T00:00:00.123+02:00'), { nil: null }),
        workers: fc.array(
          fc.record({ id: fc.string({ minLength: 1, maxLength: 20 }), artifact_hash: hashArb }),
          { maxLength: 4 },
        ),
      },
      { requiredKeys: ['type', 'seq', 'artifact_hash'] },
    );
    fc.assert(
      fc.property(beatArb, (frame) => {
        const parsed = parseDataPlaneFrame(encodeFrame(frame as DataPlaneFrame));
        expect(parsed).toEqual({ kind: 'frame', frame });
      }),
    );
  });

  it('counts UTF-8 bytes exactly like TextEncoder, lone surrogates included (property)', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 50 }),
          fc
            .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 30 })
            .map((codes) => String.fromCharCode(...codes)),
        ),
        (text) => {
          expect(utf8Length(text)).toBe(encoder.encode(text).length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps the heartbeat fast path equal to the schema (property)', () => {
    const hashArb = fc.oneof(
      fc.constantFrom(A, B, null, 'sha256:xyz', `sha256:${'A'.repeat(64)}`, 7),
      fc.string({ maxLength: 8 }),
    );
    const timeArb = fc.oneof(
      fc.constantFrom(
        '2026-01-01T00:00:00Z',
        '2026-01-01T00:00:00.5+01:00',
        '2026-02-30T00:00:00Z',
        'yesterday',
        null,
        5,
      ),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
    const workerArb = fc.oneof(
      fc.record(
        {
          id: fc.oneof(fc.string({ maxLength: 4 }), fc.constant('w'.repeat(254)), fc.constant(3)),
          artifact_hash: hashArb,
        },
        { requiredKeys: [] },
      ),
      fc.constantFrom(null, 'w', [] as unknown[]),
      fc.record({ id: fc.constant('w1'), artifact_hash: fc.constant(A), extra: fc.nat() }),
    );
    const beatArb = fc.record(
      {
        type: fc.constant('heartbeat'),
        seq: fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, '1')),
        artifact_hash: hashArb,
        loaded_at: timeArb,
        workers: fc.oneof(fc.array(workerArb, { maxLength: 4 }), fc.constantFrom(null, 'x')),
        last_load_error: fc.constantFrom(null, {
          artifact_hash: A,
          code: 'PLB_X',
          message: 'm',
          at: '2026-01-01T00:00:00Z',
        }),
        unknown_field: fc.nat(),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(beatArb, fc.integer({ min: 0, max: 5 }), (value, maxWorkers) => {
        const fast = fastHeartbeat(value as Record<string, unknown>, maxWorkers);
        const workers = (value as { workers?: unknown }).workers;
        const slow = heartbeatSchema.safeParse(value);
        const fitsLimit = !Array.isArray(workers) || workers.length <= maxWorkers;
        if (fast !== null) {
          expect(slow.success && fitsLimit).toBe(true);
          expect(fast).toEqual(slow.data);
        } else if (slow.success && fitsLimit) {
          // Only a load error defers to the schema.
          expect((value as { last_load_error?: unknown }).last_load_error).toBeTruthy();
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('drift protocol v1.1: live_config (additive)', () => {
  const LIVE = {
    probe: 'caddy',
    status: 'ok' as const,
    digest: B,
    expected_digest: A,
    differences: ['/apps/http/servers/main/routes/0/handle/0/body'],
    at: '2026-01-01T00:06:00Z',
  };
  const HELLO_V1_1: HelloFrame = { ...HELLO, protocol: DRIFT_PROTOCOL_V1_1, live_config: LIVE };
  const HEARTBEAT_V1_1: HeartbeatFrame = {
    type: 'heartbeat',
    seq: 43,
    artifact_hash: A,
    loaded_at: '2026-01-01T00:05:00Z',
    live_config: {
      probe: 'nginx',
      status: 'failing',
      digest: null,
      expected_digest: A,
      code: 'PLB_PROBE_UNREACHABLE',
      message: "the gateway's master process 4242 is not running",
      at: '2026-01-01T00:07:00Z',
    },
  };

  it.each([
    ['hello-v1.1', HELLO_V1_1],
    ['heartbeat-v1.1', HEARTBEAT_V1_1],
  ] as const)(
    'pins the %s frame byte for byte (golden file) and parses what it encodes',
    (name, frame) => {
      const golden = new URL(`../golden/drift/${name}.json`, import.meta.url);
      const encoded = `${encodeFrame(frame)}\n`;
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, encoded);
      expect(readFileSync(golden, 'utf8')).toBe(encoded);
      expect(parseDataPlaneFrame(encoded)).toEqual({ kind: 'frame', frame });
    },
  );

  it('is a minor version v1 peers accept, and v1 frames are byte-for-byte unchanged', () => {
    expect(isSupportedProtocol(DRIFT_PROTOCOL_V1_1)).toBe(true);
    expect(encodeFrame(HEARTBEAT)).not.toContain('live_config');
    // The heartbeat fast path defers to the schema for live_config, so the field is never dropped.
    expect(fastHeartbeat({ ...HEARTBEAT_V1_1, last_load_error: undefined }, 256)).toBeNull();
  });

  it('refuses a malformed live_config (bad status, digest or too many differences)', () => {
    const bad = (live: unknown) =>
      codeOf(() => parseDataPlaneFrame(JSON.stringify({ ...HEARTBEAT_V1_1, live_config: live })));
    expect(bad({ ...LIVE, status: 'fine' })).toBe('PLB_DRIFT_MALFORMED');
    expect(bad({ ...LIVE, digest: 'md5:x' })).toBe('PLB_DRIFT_MALFORMED');
    expect(bad({ ...LIVE, differences: Array.from({ length: 33 }, (_, i) => `/${i}`) })).toBe(
      'PLB_DRIFT_MALFORMED',
    );
  });
});

describe('drift protocol v1.1: verification_reasons (additive)', () => {
  const HEARTBEAT_REASONS: HeartbeatFrame = {
    type: 'heartbeat',
    seq: 44,
    artifact_hash: null,
    loaded_at: '2026-01-01T00:05:00Z',
    verification_reasons: [
      {
        rule: 'payload',
        code: 'PLB_VERIFY_PAYLOAD_MISMATCH',
        message:
          "payload digest sha256:… (19 bytes) does not match the header's sha256:… (19 bytes)",
      },
    ],
  };

  it('pins the heartbeat-v1.1-verification frame byte for byte (golden file) and parses what it encodes', () => {
    const golden = new URL('../golden/drift/heartbeat-v1.1-verification.json', import.meta.url);
    const encoded = `${encodeFrame(HEARTBEAT_REASONS)}\n`;
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, encoded);
    expect(readFileSync(golden, 'utf8')).toBe(encoded);
    expect(parseDataPlaneFrame(encoded)).toEqual({ kind: 'frame', frame: HEARTBEAT_REASONS });
    const hello = {
      ...HELLO,
      protocol: DRIFT_PROTOCOL_V1_1,
      verification_reasons: HEARTBEAT_REASONS.verification_reasons,
    };
    expect(parseDataPlaneFrame(encodeFrame(hello))).toEqual({ kind: 'frame', frame: hello });
    // The heartbeat fast path defers to the schema, so the field is never dropped.
    expect(fastHeartbeat({ ...HEARTBEAT_REASONS }, 256)).toBeNull();
    expect(encodeFrame(HEARTBEAT)).not.toContain('verification_reasons');
  });

  it('refuses malformed reasons (none, more than 16, a missing code)', () => {
    const bad = (reasons: unknown) =>
      codeOf(() =>
        parseDataPlaneFrame(
          JSON.stringify({ ...HEARTBEAT_REASONS, verification_reasons: reasons }),
        ),
      );
    const one = HEARTBEAT_REASONS.verification_reasons![0]!;
    expect(bad([])).toBe('PLB_DRIFT_MALFORMED');
    expect(bad(Array.from({ length: 17 }, () => one))).toBe('PLB_DRIFT_MALFORMED');
    expect(bad([{ rule: 'payload', message: 'x' }])).toBe('PLB_DRIFT_MALFORMED');
  });
});
