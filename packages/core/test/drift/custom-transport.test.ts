import { describe, expect, it } from 'vitest';
import {
  FleetMonitor,
  ManualClock,
  encodeFrame,
  serveDrift,
  type DriftSession,
  type DriftTransport,
  type DriftTransportHandler,
  type SessionRejection,
} from '@plumbline/core/drift';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { A, T0 } from './helpers.js';

/** The smallest possible transport: the test plays the network (no remote addresses). */
function handTransport() {
  let handler: DriftTransportHandler | null = null;
  const sent = new Map<string, string[]>();
  const closed = new Map<string, number>();
  const transport: DriftTransport = {
    async start(h) {
      handler = h;
    },
    async close() {},
  };
  const open = (id: string, node_id: string): DriftSession => {
    const session: DriftSession = {
      id,
      identity: { node_id, cluster: 'prod', principal: `spiffe://example.org/gw/${node_id}` },
      send: (text) => sent.set(id, [...(sent.get(id) ?? []), text]),
      close: (code) => {
        if (closed.has(id)) return;
        closed.set(id, code);
        handler?.onClose(session, code, '');
      },
    };
    handler?.onOpen(session);
    return session;
  };
  return { transport, open, sent, closed, handler: () => handler as DriftTransportHandler };
}

describe('serveDrift over a hand-written transport (no remote addresses)', () => {
  it('applies the protocol rules and audits without addresses', async () => {
    const clock = new ManualClock(T0);
    const monitor = await FleetMonitor.create({ clock, maxNodes: 1 });
    const hand = handTransport();
    const rejections: SessionRejection[] = [];
    const { logger, sink } = createMemoryAuditLogger();
    const server = serveDrift({
      transport: hand.transport,
      monitor,
      audit: logger,
      onRejected: (r) => rejections.push(r),
      helloTimeoutMs: 100,
    });
    await server.start();
    const hello = (node: string) =>
      encodeFrame({
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: node,
        cluster: 'prod',
        instance_id: 'i',
        artifact_hash: A,
      });

    const s1 = hand.open('s1', 'gw-1');
    hand.handler().onMessage(s1, hello('gw-1'));
    expect(JSON.parse(hand.sent.get('s1')?.[0] as string)).toMatchObject({ type: 'welcome' });

    const s2 = hand.open('s2', 'gw-1');
    hand.handler().onMessage(s2, hello('gw-2'));
    expect(hand.closed.get('s2')).toBe(4403);

    const s3 = hand.open('s3', 'gw-3');
    hand.handler().onMessage(s3, hello('gw-3'));
    expect(hand.closed.get('s3')).toBe(4429);

    hand.open('s4', 'gw-1');
    clock.advance(100);
    expect(hand.closed.get('s4')).toBe(4408);

    hand.handler().onAuthFailure?.({ reason: 'certificate without SPIFFE ID' });
    hand.handler().onMessage({ ...s1, id: 'unknown-session' }, hello('gw-1'));
    hand.handler().onClose({ ...s1, id: 'unknown-session' }, 1006, '');

    expect(rejections.map((r) => [r.code, r.close_code])).toEqual([
      ['PLB_DRIFT_IDENTITY_MISMATCH', 4403],
      ['PLB_DRIFT_FLEET_FULL', 4429],
      ['PLB_DRIFT_HELLO_TIMEOUT', 4408],
      ['PLB_DRIFT_UNAUTHENTICATED', 4401],
    ]);
    expect(rejections.every((r) => r.remoteAddress === undefined)).toBe(true);
    await logger.flush();
    expect(sink.events.map((e) => [e.type, e.details?.['reason_code'] ?? null])).toEqual([
      ['session.accepted', null],
      ['session.rejected', 'identity_mismatch'],
      ['session.rejected', 'rate_limited'],
      ['session.rejected', 'timeout'],
      ['session.rejected', 'unauthenticated'],
    ]);
    expect(sink.events.every((e) => e.actor.address === undefined)).toBe(true);
    hand.handler().onClose(s1, 1006, '');
    expect(monitor.node('gw-1')?.state).toBe('disconnected');
    await server.close();
    await logger.close();
    await monitor.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
