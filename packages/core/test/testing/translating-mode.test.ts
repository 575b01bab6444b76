/**
 * The translating mode of the transport conformance suite: the in-memory transport, driven
 * through a client adapter that speaks Plumbline frames as its wire form, passes every clause;
 * clauses are declared not applicable only with a reason, and only those that may be.
 */
import { describe, expect, it, vi } from 'vitest';
import { createMemoryTransport } from '@plumbline/core/drift';
import {
  ConformanceError,
  describeTranslatingTransportConformance,
  type TranslatingTransportFactory,
} from '@plumbline/core/testing';
import { asTranslating } from './mutants/translating.js';

const memoryFactory: TranslatingTransportFactory = asTranslating(
  async ({ tokens, maxFrameBytes }) => {
    const memory = createMemoryTransport({ tokens, maxFrameBytes });
    return { transport: memory.transport, channel: memory.channel, terminate: memory.terminate };
  },
);

await describeTranslatingTransportConformance(
  'in-memory transport, Plumbline frames',
  memoryFactory,
);

function collect(): {
  api: {
    describe: (n: string, b: () => void) => void;
    it: (n: string, b: () => Promise<void>) => void;
  };
  names: string[];
  bodies: (() => Promise<void>)[];
} {
  const names: string[] = [];
  const bodies: (() => Promise<void>)[] = [];
  const it = (name: string, body: () => Promise<void>): void => {
    names.push(name);
    bodies.push(body);
  };
  return { api: { describe: (_n, body) => body(), it }, names, bodies };
}

describe('clauses declared not applicable', () => {
  it('registers a waived clause under its reason, and none of its checks', async () => {
    const { api, names, bodies } = collect();
    await describeTranslatingTransportConformance('waiver', memoryFactory, {
      api: { describe: api.describe, it: api.it },
      notApplicable: { frameLimit: 'the wire protocol has no frame limit of its own' },
    });
    const frameLimit = names.filter((n) => n.endsWith('[transport.frame-limit]'));
    expect(frameLimit).toEqual([
      'not applicable to this transport: the wire protocol has no frame limit of its own [transport.frame-limit]',
    ]);
    expect(names.filter((n) => n.endsWith('[transport.identity]'))).toHaveLength(1);
    const printed = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    try {
      await bodies[names.indexOf(frameLimit[0] as string)]?.();
      expect(printed).toHaveBeenCalledWith(
        'transport.frame-limit not applicable to waiver: the wire protocol has no frame limit of its own',
      );
    } finally {
      printed.mockRestore();
    }
  });

  it('refuses to waive a clause every transport must keep, or to waive one without a reason', async () => {
    const { api } = collect();
    const waive = (notApplicable: Record<string, string>) =>
      describeTranslatingTransportConformance('waiver', memoryFactory, {
        api: { describe: api.describe, it: api.it },
        notApplicable: notApplicable as never,
      });
    await expect(waive({ identity: 'identity is not ours' })).rejects.toBeInstanceOf(
      ConformanceError,
    );
    await expect(waive({ lifecycle: 'no' })).rejects.toThrow(/cannot be declared not applicable/);
    await expect(waive({ shutdown: '  ' })).rejects.toThrow(/without a reason/);
  });
});
