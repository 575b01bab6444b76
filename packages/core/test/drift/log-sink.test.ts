import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRedactor } from '@plumbline/core/audit';
import { createLogSink, type FleetEvent } from '@plumbline/core/drift';

const A = `sha256:${'a'.repeat(64)}` as const;

function desiredChanged(reason: string): FleetEvent {
  return {
    type: 'desired_state.changed',
    id: 'e7',
    at: '2026-01-01T00:00:00.000Z',
    cluster: 'prod',
    node_id: null,
    artifact_hash: A,
    previous_hash: null,
    version: 2,
    actor: 'ops',
    reason,
    rollout: null,
  } as unknown as FleetEvent;
}

describe('createLogSink redaction', () => {
  it('redacts a desired-state reason the way the audit trail does', () => {
    const lines: string[] = [];
    const sink = createLogSink({ writable: { write: (l: string) => lines.push(l) } });
    const reason = 'rotate password=hunter2-7f1c via https://ops:vault-pw-55a1@vault.example/v1/x';
    sink.send(desiredChanged(reason));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('hunter2-7f1c');
    expect(lines[0]).not.toContain('vault-pw-55a1');
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(parsed['reason']).toBe(createRedactor()(reason));
    expect(parsed['artifact_hash']).toBe(A);
    expect(parsed['msg']).toBe('fleet event');
  });

  it('never writes a bearer token or JWT found anywhere in an event (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.stringMatching(/^[A-Za-z0-9]{12,30}$/),
        (prefix, secret) => {
          const lines: string[] = [];
          const sink = createLogSink({ writable: { write: (l: string) => lines.push(l) } });
          sink.send(desiredChanged(`${prefix} Bearer ${secret}`));
          sink.send(desiredChanged(`${prefix} eyJhbGciOi.${secret}.sig`));
          return lines.every((l) => !l.includes(secret));
        },
      ),
      { seed: 20, numRuns: 200 },
    );
  });
});
