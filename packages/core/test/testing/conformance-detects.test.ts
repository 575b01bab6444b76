import { describe, expect, it } from 'vitest';
import {
  MemoryFleetStore,
  createMemoryTransport,
  type SetDesiredInput,
} from '@plumbline/core/drift';
import {
  describeFleetStoreConformance,
  describeTransportConformance,
  type ConformanceTestApi,
} from '@plumbline/core/testing';

/** Collects the suite's tests instead of registering them, so this file can run them itself. */
function collector(): {
  api: ConformanceTestApi;
  tests: { name: string; body: () => Promise<void> }[];
} {
  const tests: { name: string; body: () => Promise<void> }[] = [];
  return {
    api: { describe: (_name, body) => body(), it: (name, body) => tests.push({ name, body }) },
    tests,
  };
}

async function failures(tests: { name: string; body: () => Promise<void> }[]): Promise<string[]> {
  const failed: string[] = [];
  for (const test of tests) {
    try {
      await test.body();
    } catch {
      failed.push(test.name);
    }
  }
  return failed;
}

describe('the conformance suites catch broken implementations', () => {
  it('flags a transport that does not enforce the frame limit', async () => {
    const { api, tests } = collector();
    await describeTransportConformance(
      'broken: no frame limit',
      async ({ tokens }) => {
        const memory = createMemoryTransport({ tokens, maxFrameBytes: 1 << 20 });
        return {
          transport: memory.transport,
          channel: memory.channel,
          terminate: memory.terminate,
        };
      },
      { api, timeoutMs: 300 },
    );
    expect(tests.length).toBeGreaterThanOrEqual(8);
    expect(await failures(tests)).toEqual([
      'accepts a frame of exactly maxFrameBytes and closes with 1009 on a larger one',
    ]);
  });

  it('flags a transport that accepts any credential', async () => {
    const { api, tests } = collector();
    await describeTransportConformance(
      'broken: no auth',
      async ({ tokens, maxFrameBytes }) => {
        const memory = createMemoryTransport({ tokens, maxFrameBytes });
        return {
          transport: memory.transport,
          channel: (token: string) => memory.channel(token in tokens ? token : 'token-a'),
          terminate: memory.terminate,
        };
      },
      { api, timeoutMs: 300 },
    );
    expect(await failures(tests)).toContain(
      'refuses unknown credentials (PLB_DRIFT_UNAUTHENTICATED) without opening a session',
    );
  });

  it('flags a store without compare-and-set', async () => {
    class NoCas extends MemoryFleetStore {
      override setDesired(input: SetDesiredInput) {
        const { expected_version: _ignored, ...rest } = input;
        return super.setDesired(rest);
      }
    }
    const { api, tests } = collector();
    await describeFleetStoreConformance('broken: no CAS', async () => ({ store: new NoCas() }), {
      api,
      timeoutMs: 300,
    });
    const failed = await failures(tests);
    expect(failed).toContain('sets desired state with rising versions and compare-and-set');
    expect(failed).toContain('lets exactly one of two concurrent compare-and-set writers win');
  });
});
