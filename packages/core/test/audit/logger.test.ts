import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  MemoryAuditSink,
  auditEventSchema,
  createAuditLogger,
  createMemoryAuditLogger,
  desiredStateChanged,
  isUuidv7,
  noopAuditLogger,
  provenanceRead,
  sessionRejected,
  type AuditEventInput,
} from '@plumbline/core/audit';

const H = `sha256:${'ab'.repeat(32)}`;

describe('AuditLogger', () => {
  it('fills in the envelope, redacts and validates', async () => {
    const { logger, sink } = createMemoryAuditLogger({
      source: { component: 'admin', instance: 'a1' },
      tenant: 't1',
    });
    const result = await logger.emit(
      provenanceRead({
        actor: { type: 'service', id: 'ops' },
        reason: 'token=abcdef123456 used',
        details: { node_id: 'gw-1', artifact_hash: H, path: '/_admin/provenance', status: 200 },
      }),
    );
    expect(result.suppressed).toBe(false);
    const event = sink.events[0]!;
    expect(event).toEqual(result.event);
    expect(isUuidv7(event.id)).toBe(true);
    expect(event.schema_version).toBe('1.0');
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(event.source).toEqual({ component: 'admin', instance: 'a1' });
    expect(event.tenant).toBe('t1');
    expect(event.subject).toEqual({ type: 'node', id: 'gw-1' });
    expect(event.severity).toBe('info');
    expect(event.reason).toBe('token=[REDACTED] used');
    expect(auditEventSchema.parse(event)).toEqual(event);
    expect(JSON.parse(sink.records[0]!.json)).toEqual(event);
  });

  it('rejects invalid events with the path but not the value', async () => {
    const { logger, sink } = createMemoryAuditLogger();
    const bad = desiredStateChanged({
      actor: { type: 'user', id: 'admin' },
      details: {
        cluster: 'c',
        previous_hash: null,
        artifact_hash: 'sha256:nothex-secretvalue' as `sha256:${string}`,
      },
    });
    const error = await logger.emit(bad).catch((e: unknown) => e);
    expect(PlumblineError.is(error, 'PLB_AUDIT_INVALID_EVENT')).toBe(true);
    expect((error as Error).message).toContain('details.artifact_hash');
    expect((error as Error).message).not.toContain('secretvalue');
    expect(sink.records).toHaveLength(0);
    expect(logger.metrics().invalid).toBe(1);
    await expect(logger.emit(null as unknown as AuditEventInput)).rejects.toThrow(/object/);
  });

  it('fails closed when a must-write sink fails, and best-effort never fails the caller', async () => {
    const must = new MemoryAuditSink({ name: 'must' });
    const best = new MemoryAuditSink({ name: 'best' });
    const errors: string[] = [];
    const logger = createAuditLogger({
      source: { component: 't' },
      sinks: [
        { sink: must, delivery: 'must-write' },
        { sink: best, delivery: 'best-effort', queue: { backoffMs: 1 } },
      ],
      onError: (e) => errors.push(e.code),
    });
    const input = sessionRejected({
      actor: { type: 'anonymous', id: 'anonymous' },
      details: { reason_code: 'unauthenticated' },
    });
    must.failWith(new Error('disk full'));
    await expect(logger.emit(input)).rejects.toMatchObject({ code: 'PLB_AUDIT_WRITE_FAILED' });
    must.failWith(undefined);
    best.failWith(new Error('down'));
    await logger.emit(input);
    await logger.flush();
    expect(must.records).toHaveLength(1);
    best.failWith(undefined);
    await logger.emit(input);
    await logger.flush();
    // The best-effort sink lost one event while down and says so once it recovered.
    const dropped = best.events.find((e) => e.type === 'audit.events_dropped');
    expect(dropped?.details).toMatchObject({
      sink: 'best',
      dropped_count: 1,
      write_failed_count: 1,
      queue_full_count: 0,
    });
    expect(errors).toContain('PLB_AUDIT_WRITE_FAILED');
    expect(logger.metrics().sinks['best']).toMatchObject({ delivery: 'best-effort', dropped: 1 });
    await logger.close();
    await logger.close();
    await expect(logger.emit(input)).rejects.toMatchObject({ code: 'PLB_AUDIT_CLOSED' });
  });

  it('noop logger validates and discards', async () => {
    const logger = noopAuditLogger();
    const r = await logger.emit(
      sessionRejected({
        actor: { type: 'anonymous', id: 'a' },
        details: { reason_code: 'timeout' },
      }),
    );
    expect(r.event?.type).toBe('session.rejected');
    await logger.close();
  });
});
