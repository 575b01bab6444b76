/**
 * The transport mutants are worth something only if the transport they are made from passes the
 * suite: a clause the unbroken base already fails "catches" every mutant of that clause for free.
 * Also two flaws of the close-codes kind the mutants list lacks: frames still queued when a side
 * closes are dropped (a WebSocket delivers what was sent before its close frame).
 */
import { describe, expect, it } from 'vitest';
import type { DriftConnection, DriftSession, DriftTransport } from '@plumbline/core/drift';
import {
  describeTransportConformance,
  describeTranslatingTransportConformance,
  type TransportFactory,
} from '@plumbline/core/testing';
import { brokenClauses, collector } from './mutants/run.js';
import { flawedTransport, type TransportFlaw } from './mutants/transport.js';
import { asTranslating } from './mutants/translating.js';

const unbroken = flawedTransport(undefined as unknown as TransportFlaw);

/** Queues a side's frames for a tick, and drops what is still queued when that side closes. */
function queued(send: (text: string) => void): {
  send(text: string): void;
  drop(): void;
} {
  let queue: string[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    send(text) {
      queue.push(text);
      timer ??= setTimeout(() => {
        timer = null;
        for (const t of queue.splice(0)) send(t);
      }, 1);
    },
    drop() {
      queue = [];
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

const serverDropsPendingFrames: TransportFactory = async (options) => {
  const inner = await unbroken(options);
  const proxies = new WeakMap<DriftSession, DriftSession>();
  const proxy = (s: DriftSession): DriftSession => {
    let p = proxies.get(s);
    if (p === undefined) {
      const q = queued((t) => s.send(t));
      p = Object.create(s, {
        send: { value: (text: string) => q.send(text) },
        close: {
          value: (code: number, reason?: string) => {
            q.drop();
            s.close(code, reason);
          },
        },
      }) as DriftSession;
      proxies.set(s, p);
    }
    return p;
  };
  const transport: DriftTransport = {
    start: (h) =>
      inner.transport.start({
        ...h,
        onOpen: (s) => h.onOpen(proxy(s)),
        onMessage: (s, t) => h.onMessage(proxy(s), t),
        onClose: (s, c, r) => h.onClose(proxy(s), c, r),
      }),
    close: () => inner.transport.close(),
  };
  return { ...inner, transport };
};

const clientDropsPendingFrames: TransportFactory = async (options) => {
  const inner = await unbroken(options);
  const real = new WeakMap<DriftConnection, DriftConnection>();
  return {
    ...inner,
    channel: (token) => ({
      async connect(client) {
        const c = await inner.channel(token).connect(client);
        const q = queued((t) => c.send(t));
        const wrapped: DriftConnection = {
          send: (text) => q.send(text),
          close(code, reason) {
            q.drop();
            c.close(code, reason);
          },
        };
        real.set(wrapped, c);
        return wrapped;
      },
    }),
    terminate: (c) => inner.terminate(real.get(c) ?? c),
  };
};

describe('the transport mutants', () => {
  it('are made from a transport that passes the whole suite', async () => {
    const { api, tests } = collector();
    await describeTransportConformance('unbroken', unbroken, { api, timeoutMs: 2000 });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
  });

  it('are made from a transport that passes the whole suite in its translating mode', async () => {
    const { api, tests } = collector();
    await describeTranslatingTransportConformance('unbroken', asTranslating(unbroken), {
      api,
      timeoutMs: 2000,
    });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
  });

  it.each([
    ['the control plane drops frames still queued at its close', serverDropsPendingFrames],
    ['the data plane drops frames still queued at its close', clientDropsPendingFrames],
  ] as const)('catches a transport where %s (transport.close-codes)', async (flaw, factory) => {
    const { api, tests } = collector();
    await describeTransportConformance(flaw, factory, { api, timeoutMs: 400 });
    const broken = await brokenClauses(tests, 'transport.close-codes');
    expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual(['transport.close-codes']);
  });
});
