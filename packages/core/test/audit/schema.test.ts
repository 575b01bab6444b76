import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  artifactLoaded,
  artifactVerificationFailed,
  auditDetailSchemas,
  auditEventJsonSchema,
  auditEventSchema,
  createMemoryAuditLogger,
  credentialVended,
  desiredStateChanged,
  driftDetected,
  driftResolved,
  eventsDropped,
  eventsSuppressed,
  expectedNodesChanged,
  formatAuditTime,
  isCatalogueType,
  isUuidv7,
  nodeStateChanged,
  observedDropped,
  policyDecision,
  provenanceRead,
  rolloutCompleted,
  rolloutDeadlineExceeded,
  rolloutStarted,
  sessionAccepted,
  sessionRejected,
  traceFromTraceparent,
  uuidv7,
  uuidv7Time,
  type AuditEventInput,
} from '@plumbline/core/audit';

const SCHEMA_PATH = fileURLToPath(
  new URL('../../../../docs/schemas/audit-event.schema.json', import.meta.url),
);
const update = process.env['UPDATE_GOLDEN'] === '1';
const H = `sha256:${'cd'.repeat(32)}` as const;
const actor = { type: 'system', id: 'fleet-monitor' } as const;
const T = '2026-01-02T03:04:05.000Z';
const rollout = {
  cluster: 'prod',
  artifact_hash: H,
  previous_hash: null,
  version: 3,
  started_at: T,
  deadline: T,
};

/** One event of every catalogue type. */
export const catalogueSamples: AuditEventInput[] = [
  provenanceRead({
    actor,
    details: { node_id: 'gw-1', artifact_hash: H, path: '/_admin/provenance', status: 200 },
  }),
  provenanceRead({
    actor,
    outcome: 'deny',
    details: { artifact_hash: null, path: '/_admin/provenance', status: 401 },
  }),
  artifactLoaded({ actor, details: { artifact_hash: H, signature: 'valid', signer: 'key:abc' } }),
  artifactVerificationFailed({
    actor,
    details: {
      artifact_hash: null,
      stage: 'header',
      code: 'PLB_HEADER_TRUNCATED',
      message: 'truncated',
    },
  }),
  artifactVerificationFailed({
    actor,
    details: {
      artifact_hash: null,
      artifact_digest: H,
      stage: 'signature',
      code: 'PLB_SIG',
      message: 'x',
    },
  }),
  artifactVerificationFailed({
    actor,
    details: { artifact_hash: null, stage: 'container', code: 'PLB_X', message: 'x' },
  }),
  desiredStateChanged({
    actor,
    reason: 'release 42',
    details: { cluster: 'prod', previous_hash: null, artifact_hash: H, deadline_seconds: 600 },
  }),
  driftDetected({
    actor,
    details: { node_id: 'gw-1', cluster: 'prod', reported_hash: null, desired_hash: H },
  }),
  driftResolved({
    actor,
    details: {
      node_id: 'gw-1',
      cluster: 'prod',
      reported_hash: H,
      desired_hash: H,
      drift_duration_ms: 5,
    },
  }),
  nodeStateChanged({
    actor,
    details: { node_id: 'gw-1', cluster: 'prod', from: 'in_sync', to: 'stale' },
  }),
  nodeStateChanged({
    actor,
    details: { node_id: 'gw-1', cluster: 'prod', from: null, to: 'in_sync' },
  }),
  expectedNodesChanged({ actor, details: { cluster: 'prod', added: ['gw-2'], removed: [] } }),
  rolloutStarted({ actor, details: { ...rollout, event_id: 'ev-1' } }),
  rolloutCompleted({ actor, details: rollout }),
  rolloutDeadlineExceeded({
    actor,
    details: { ...rollout, event_id: 'ev-2', lagging: 1, lagging_nodes: ['gw-3'] },
  }),
  observedDropped({
    actor,
    details: {
      store: 'postgres',
      dropped_count: 3,
      buffer_limit: 2,
      first_dropped_at: T,
      last_dropped_at: T,
    },
  }),
  sessionAccepted({
    actor: { type: 'node', id: 'gw-1' },
    details: { node_id: 'gw-1', cluster: 'prod', protocol: 'plumbline.drift/v1' },
  }),
  sessionRejected({
    actor: { type: 'anonymous', id: 'anonymous' },
    details: { reason_code: 'identity_mismatch', claimed_node_id: 'gw-9' },
  }),
  sessionRejected({
    actor: { type: 'anonymous', id: 'anonymous' },
    details: { reason_code: 'unauthenticated' },
  }),
  policyDecision({
    actor: { type: 'service', id: 'api', spiffe_id: 'spiffe://prod/api' },
    details: {
      decision: 'deny',
      requester_spiffe_id: 'spiffe://prod/api',
      capability: 'config:write',
      policy_version: 'v1',
      evaluation_ms: 0.4,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    },
  }),
  policyDecision({
    actor: { type: 'service', id: 'api' },
    trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
    details: {
      decision: 'allow',
      requester_spiffe_id: 'spiffe://prod/api',
      capability: 'c',
      policy_version: 'v1',
      evaluation_ms: 1,
    },
  }),
  credentialVended({
    actor,
    details: {
      credential_type: 'jwt-svid',
      requester_spiffe_id: 'spiffe://prod/api',
      expires_at: '2026-01-01T00:00:00Z',
      scopes: ['a'],
    },
  }),
  credentialVended({
    actor,
    details: { credential_type: 'x509-svid', expires_at: '2026-01-01T00:00:00Z' },
  }),
  eventsDropped({
    actor,
    details: {
      sink: 'http',
      dropped_count: 1,
      queue_full_count: 1,
      write_failed_count: 0,
      first_dropped_at: T,
      last_dropped_at: T,
    },
  }),
  eventsSuppressed({
    actor,
    details: {
      suppressed_type: 'session.rejected',
      suppressed_outcome: 'deny',
      suppressed_actor: 'x',
      suppressed_count: 3,
      window_start: T,
      window_end: T,
    },
  }),
];

describe('audit event schema', () => {
  it('docs/schemas/audit-event.schema.json is the schema generated from zod', () => {
    const actual = `${JSON.stringify(auditEventJsonSchema(), null, 2)}\n`;
    if (update) {
      mkdirSync(dirname(SCHEMA_PATH), { recursive: true });
      writeFileSync(SCHEMA_PATH, actual);
    }
    expect(actual).toBe(readFileSync(SCHEMA_PATH, 'utf8'));
  });

  it('every builder produces an event that zod and the JSON Schema accept', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(auditEventJsonSchema());
    const { logger, sink } = createMemoryAuditLogger({ now: () => Date.parse(T) });
    for (const input of catalogueSamples) await logger.emit(input);
    expect(sink.events).toHaveLength(catalogueSamples.length);
    for (const event of sink.events) {
      expect(auditEventSchema.safeParse(event).success).toBe(true);
      expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
      expect(isCatalogueType(event.type)).toBe(true);
    }
    const types = new Set(sink.events.map((e) => e.type));
    expect([...types].sort()).toEqual(Object.keys(auditDetailSchemas).sort());
    // The JSON Schema also refuses wrong details of a catalogue type.
    const bad = { ...sink.events[0]!, details: { status: 'x' } };
    expect(validate(bad)).toBe(false);
    // Defaults derived by the builders.
    const byType = (t: string) => sink.events.find((e) => e.type === t)!;
    expect(byType('policy.decision')).toMatchObject({
      outcome: 'deny',
      trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
      subject: { type: 'capability', id: 'config:write' },
    });
    expect(byType('drift.detected')).toMatchObject({
      severity: 'high',
      subject: { type: 'node', id: 'gw-1' },
    });
    expect(byType('artifact.verification_failed')).toMatchObject({
      outcome: 'failure',
      severity: 'high',
    });
    expect(byType('session.rejected')).toMatchObject({
      outcome: 'deny',
      subject: { type: 'node', id: 'gw-9' },
    });
    expect(
      sink.events.filter((e) => e.type === 'fleet.node_state_changed').map((e) => e.severity),
    ).toEqual(['medium', 'info']);
  });

  it('accepts custom dotted types with free details and refuses bad envelopes', async () => {
    const { logger } = createMemoryAuditLogger();
    const r = await logger.emit({
      type: 'acme.config_pushed',
      outcome: 'success',
      actor,
      details: { anything: [1, 2] },
      time: new Date(0),
    });
    expect(r.event?.time).toBe('1970-01-01T00:00:00.000Z');
    for (const bad of [
      { type: 'NotDotted', outcome: 'success', actor },
      { type: 'a.b', outcome: 'maybe', actor },
      { type: 'a.b', outcome: 'success', actor: { type: 'robot', id: 'x' } },
      { type: 'a.b', outcome: 'success', actor, time: '2026-01-01 00:00' },
      { type: 'a.b', outcome: 'success', actor, trace: { trace_id: 'xyz' } },
      { type: 'a.b', outcome: 'success', actor: { ...actor, spiffe_id: 'http://x' } },
    ]) {
      await expect(logger.emit(bad as AuditEventInput)).rejects.toMatchObject({
        code: 'PLB_AUDIT_INVALID_EVENT',
      });
    }
  });
});

describe('uuidv7', () => {
  it('is a sortable RFC 9562 UUIDv7 carrying its time', () => {
    // Ids never go back in time within a process, so use a time after every id made so far.
    const base = Date.now() + 1_000_000;
    const ids = Array.from({ length: 5000 }, () => uuidv7(base));
    expect(ids.every(isUuidv7)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(uuidv7Time(ids[0]!)).toBe(base);
    // A clock that goes back still yields rising ids.
    expect(uuidv7(0) > ids.at(-1)!).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => {
        const id = uuidv7(ms);
        return isUuidv7(id) && uuidv7Time(id) >= ms;
      }),
    );
    expect(isUuidv7('not-a-uuid')).toBe(false);
  });
});

describe('traceparent', () => {
  it('parses valid headers and refuses malformed ones', () => {
    expect(traceFromTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual(
      {
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        span_id: '00f067aa0ba902b7',
      },
    );
    expect(
      traceFromTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')
        ?.trace_id,
    ).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const bad of [
      undefined,
      null,
      '',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      'x'.repeat(600),
    ]) {
      expect(traceFromTraceparent(bad)).toBeUndefined();
    }
    expect(formatAuditTime(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('the logger validates exactly like the zod schema', () => {
  const fieldValues = {
    schema_version: fc.constantFrom('1.0', '1.7', '2.0', 1, 'x'),
    id: fc.constantFrom(uuidv7(), 'abc', '0190a000-0000-4000-8000-000000000000', 5),
    time: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00Z', 3),
    type: fc.constantFrom('a.b', 'A.b', 'nodot', `a.${'b'.repeat(130)}`, null),
    outcome: fc.constantFrom('success', 'deny', 'maybe'),
    severity: fc.constantFrom('info', 'critical', 'loud'),
    actor: fc.oneof(
      fc.record(
        {
          type: fc.constantFrom('user', 'robot'),
          id: fc.constantFrom('x', '', 'y'.repeat(600)),
          spiffe_id: fc.constantFrom('spiffe://a/b', 'https://a', 7),
          address: fc.constantFrom('1.2.3.4', ''),
          extra: fc.constant(1),
        },
        { requiredKeys: ['type', 'id'] },
      ),
      fc.constantFrom(null, [], 'x'),
    ),
    subject: fc.oneof(
      fc.record(
        {
          type: fc.constantFrom('node', ''),
          id: fc.constantFrom('gw', 'z'.repeat(3000)),
          extra: fc.constant(1),
        },
        { requiredKeys: ['type', 'id'] },
      ),
      fc.constantFrom(null, 'x'),
    ),
    reason: fc.constantFrom('why', 'r'.repeat(5000), 3),
    trace: fc.oneof(
      fc.record(
        {
          trace_id: fc.constantFrom('4bf92f3577b34da6a3ce929d0e0e4736', 'xyz'),
          span_id: fc.constantFrom('00f067aa0ba902b7', 'q'),
          extra: fc.constant(1),
        },
        { requiredKeys: ['trace_id'] },
      ),
      fc.constant('t'),
    ),
    tenant: fc.constantFrom('t1', ''),
    source: fc.oneof(
      fc.record(
        {
          component: fc.constantFrom('cp', ''),
          instance: fc.constantFrom('i', ''),
          extra: fc.constant(1),
        },
        { requiredKeys: ['component'] },
      ),
      fc.constant(null),
    ),
    details: fc.constantFrom({}, { a: 1 }, [], null),
    bogus: fc.constant(1),
  };
  it('agrees with auditEventSchema on random envelopes (property)', async () => {
    const { checkEnvelope } = await import('../../src/audit/envelope-check.js');
    fc.assert(
      fc.property(
        fc.record(fieldValues, {
          requiredKeys: [
            'schema_version',
            'id',
            'time',
            'type',
            'outcome',
            'severity',
            'actor',
            'source',
            'details',
          ],
        }),
        (event) => {
          expect(checkEnvelope(event) === undefined).toBe(
            auditEventSchema.safeParse(event).success,
          );
        },
      ),
      { numRuns: 2000 },
    );
    expect(checkEnvelope(null)).toBe('(root)');
  });
});
