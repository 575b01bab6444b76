import { afterEach, describe, expect, it } from 'vitest';
import {
  FleetMonitor,
  ManualClock,
  encodeFrame,
  serveDrift,
  type DriftIdentity,
  type DriftServer,
  type DriftSession,
  type DriftTransport,
  type DriftTransportHandler,
} from '@plumbline/core/drift';
import { createMemoryAuditLogger } from '@plumbline/core/audit';
import { A, T0 } from './helpers.js';

/**
 * A transport the test drives by hand, with knobs for every way an integrator's transport can
 * misbehave: sessions whose identity changes or vanishes, closes reported twice or never, send
 * and close that throw.
 */
function faultyTransport() {
  let handler: DriftTransportHandler | null = null;
  const sent = new Map<string, string[]>();
  const closed = new Map<string, number>();
  const transport: DriftTransport = {
    async start(h) {
      handler = h;
    },
    async close() {},
  };
  const open = (
    id: string,
    node_id: string,
    opts: { reportClose?: 'once' | 'never' | 'twice'; throwOnSend?: boolean } = {},
  ): DriftSession & { identity: DriftIdentity } => {
    const session = {
      id,
      identity: { node_id, cluster: 'prod', principal: `node:${node_id}` } as DriftIdentity,
      send: (text: string) => {
        if (opts.throwOnSend) throw new Error('socket gone');
        sent.set(id, [...(sent.get(id) ?? []), text]);
      },
      close: (code: number) => {
        closed.set(id, code);
        if (opts.reportClose === 'never') return;
        handler?.onClose(session, code, '');
        if (opts.reportClose === 'twice') handler?.onClose(session, code, '');
      },
    };
    handler?.onOpen(session);
    return session;
  };
  const hello = (node: string) =>
    encodeFrame({
      type: 'hello',
      protocol: 'plumbline.drift/v1',
      node_id: node,
      cluster: 'prod',
      instance_id: `i-${node}`,
      artifact_hash: A,
    });
  return { transport, open, sent, closed, hello, handler: () => handler!, frames: sent };
}

let monitor: FleetMonitor | undefined;
let server: DriftServer | undefined;
afterEach(async () => {
  await server?.close();
  await monitor?.close();
  server = undefined;
  monitor = undefined;
});

async function setup() {
  const clock = new ManualClock(T0);
  monitor = await FleetMonitor.create({ clock, flapDamping: false });
  const hand = faultyTransport();
  const { logger, sink } = createMemoryAuditLogger();
  server = serveDrift({ transport: hand.transport, monitor, audit: logger, helloTimeoutMs: 100 });
  await server.start();
  const rejected = async () => {
    await logger.flush();
    return sink.events
      .filter((e) => e.type === 'session.rejected')
      .map((e) => [e.details?.['reason_code'], e.details?.['close_code']]);
  };
  return { clock, hand, monitor, server, rejected };
}

describe('serveDrift survives a misbehaving transport', () => {
  it('keeps the authenticated identity when the transport clears it before reporting the close', async () => {
    const { hand, monitor } = await setup();
    const s = hand.open('s1', 'gw-1');
    hand.handler().onMessage(s, hand.hello('gw-1'));
    expect(monitor.node('gw-1')?.connected).toBe(true);
    (s as { identity: unknown }).identity = undefined;
    expect(() => hand.handler().onClose(s, 1006, '')).not.toThrow();
    expect(monitor.node('gw-1')?.state).toBe('disconnected');
  });

  it('judges the identity bound at open, not one the transport swaps in later', async () => {
    const { hand, monitor } = await setup();
    const s = hand.open('s1', 'gw-1');
    (s as { identity: DriftIdentity }).identity = {
      node_id: 'gw-2',
      cluster: 'prod',
      principal: 'node:gw-2',
    };
    hand.handler().onMessage(s, hand.hello('gw-2'));
    expect(hand.closed.get('s1')).toBe(4403);
    expect(monitor.node('gw-2')).toBeUndefined();
  });

  it('refuses a session opened without an identity (1011, audited) and serves the others', async () => {
    const { hand, monitor, rejected, server } = await setup();
    const broken = {
      id: 'bad',
      send: () => {},
      close: (code: number) => hand.closed.set('bad', code),
    } as unknown as DriftSession;
    expect(() => hand.handler().onOpen(broken)).not.toThrow();
    expect(hand.closed.get('bad')).toBe(1011);
    expect(() => hand.handler().onMessage(broken, hand.hello('gw-1'))).not.toThrow();
    const good = hand.open('s2', 'gw-2');
    hand.handler().onMessage(good, hand.hello('gw-2'));
    expect(monitor.node('gw-2')?.connected).toBe(true);
    expect(server.sessions).toBe(1);
    expect(await rejected()).toEqual([['transport_fault', 1011]]);
  });

  it('refuses a second session reusing an open session id without disturbing the first', async () => {
    const { hand, monitor } = await setup();
    const first = hand.open('dup', 'gw-1');
    hand.handler().onMessage(first, hand.hello('gw-1'));
    hand.open('dup', 'gw-2', { reportClose: 'never' });
    expect(hand.closed.get('dup')).toBe(1011);
    expect(monitor.node('gw-1')?.connected).toBe(true);
    expect(monitor.node('gw-2')).toBeUndefined();
  });

  it('marks the node disconnected when a close it asked for is never reported', async () => {
    const { hand, monitor, server } = await setup();
    const s = hand.open('s1', 'gw-1', { reportClose: 'never' });
    hand.handler().onMessage(s, hand.hello('gw-1'));
    hand.handler().onMessage(s, '{"type":"heartbeat","seq":"x"}');
    expect(hand.closed.get('s1')).toBe(4400);
    expect(monitor.node('gw-1')?.state).toBe('disconnected');
    expect(server.sessions).toBe(0);
    // Frames the transport still delivers for it are ignored.
    hand.handler().onMessage(s, '{"type":"heartbeat","seq":5,"artifact_hash":null}');
    expect(monitor.node('gw-1')?.state).toBe('disconnected');
  });

  it('takes a close reported twice as one, even after the node reconnected', async () => {
    const { hand, monitor } = await setup();
    const s1 = hand.open('s1', 'gw-1', { reportClose: 'twice' });
    hand.handler().onMessage(s1, hand.hello('gw-1'));
    hand.handler().onClose(s1, 1006, '');
    const s2 = hand.open('s2', 'gw-1');
    hand.handler().onMessage(s2, hand.hello('gw-1'));
    hand.handler().onClose(s1, 1006, '');
    expect(monitor.node('gw-1')?.connected).toBe(true);
    expect(monitor.node('gw-1')?.state).not.toBe('disconnected');
  });

  it('closes a session whose send throws with 1011, marks its node and audits it', async () => {
    const { hand, monitor, rejected } = await setup();
    const s = hand.open('s1', 'gw-1', { throwOnSend: true });
    expect(() => hand.handler().onMessage(s, hand.hello('gw-1'))).not.toThrow();
    expect(hand.closed.get('s1')).toBe(1011);
    expect(monitor.node('gw-1')?.state).toBe('disconnected');
    expect(await rejected()).toEqual([['transport_fault', 1011]]);
    const other = hand.open('s2', 'gw-2');
    hand.handler().onMessage(other, hand.hello('gw-2'));
    expect(monitor.node('gw-2')?.connected).toBe(true);
  });

  it('closes the session when the monitor throws while handling its frame', async () => {
    const { hand, monitor, rejected } = await setup();
    const s = hand.open('s1', 'gw-1');
    hand.handler().onMessage(s, hand.hello('gw-1'));
    const real = monitor.heartbeat.bind(monitor);
    monitor.heartbeat = () => {
      throw new Error('store exploded');
    };
    expect(() =>
      hand.handler().onMessage(s, '{"type":"heartbeat","seq":1,"artifact_hash":null}'),
    ).not.toThrow();
    monitor.heartbeat = real;
    expect(hand.closed.get('s1')).toBe(1011);
    expect(monitor.node('gw-1')?.state).toBe('disconnected');
    const reasons = await rejected();
    expect(reasons).toEqual([['transport_fault', 1011]]);
  });

  it('ignores frames and closes of sessions it never saw, and a transport that fails to start is a coded error', async () => {
    const { hand } = await setup();
    const ghost = { id: 'ghost', identity: undefined } as unknown as DriftSession;
    expect(() => hand.handler().onMessage(ghost, hand.hello('gw-1'))).not.toThrow();
    expect(() => hand.handler().onClose(ghost, 1000, '')).not.toThrow();
    expect(() => hand.handler().onClose(null as unknown as DriftSession, 1000, '')).not.toThrow();
    const failing = serveDrift({
      transport: {
        start: () => Promise.reject(new Error('EADDRINUSE')),
        close: async () => {},
      },
      monitor: monitor!,
    });
    await expect(failing.start()).rejects.toMatchObject({ code: 'PLB_DRIFT_TRANSPORT_FAULT' });
  });
});
