/**
 * The transport conformance suite, in its translating mode, catches broken Barbacane
 * transports: the real transport with one of its steps replaced by a flaw an integrator could
 * write, each caught by the contract clause it breaks.
 */
import { describe, expect, it } from 'vitest';
import {
  ConformanceError,
  describeTranslatingTransportConformance,
  type ConformanceTestApi,
} from '@plumbline/core/testing';
import { createTransportFromSteps } from '../src/transport-core.js';
import { BARBACANE_STEPS, type BarbacaneTransportSteps } from '../src/transport-steps.js';
import { barbacaneFactory } from './conformance-harness.js';

/** The suite's tests, collected instead of registered (the pattern of the integrators' guide). */
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

/** Runs the tests of `clause` (all when undefined); the clauses their failures name. */
async function brokenClauses(
  tests: readonly { name: string; body: () => Promise<void> }[],
  clause?: string,
): Promise<Map<string, string>> {
  const broken = new Map<string, string>();
  for (const test of tests) {
    if (clause !== undefined && !test.name.endsWith(`[${clause}]`)) continue;
    await test.body().catch((error: unknown) => {
      const id = error instanceof ConformanceError ? (error.clause ?? 'unnamed') : 'other error';
      if (!broken.has(id)) broken.set(id, error instanceof Error ? error.message : String(error));
    });
  }
  return broken;
}

const FLAWS: Record<string, { clause: string; steps: Partial<BarbacaneTransportSteps> }> = {
  // A bound key's data plane becomes whichever node its register names.
  "identity taken from the register's name": {
    clause: 'transport.identity',
    steps: { nodeOf: (credential, name) => name ?? credential.node },
  },
  // Barbacane's own heartbeat carries no hash: read as "runs nothing", it flips a healthy node.
  'a heartbeat without a hash reported as no artifact': {
    clause: 'transport.serve-drift',
    steps: {
      reportOf: (heartbeat, resolve) => BARBACANE_STEPS.reportOf(heartbeat, resolve) ?? null,
    },
  },
  "the data plane's close reason dropped": {
    clause: 'transport.close-codes',
    steps: { closeOf: (code, _reason, limitCode) => ({ code: limitCode ?? code, reason: '' }) },
  },
  'an oversized frame reported as the socket closed it': {
    clause: 'transport.frame-limit',
    steps: { closeOf: (code, reason) => ({ code, reason }) },
  },
};

describe('the translating transport suite catches every broken Barbacane transport', () => {
  for (const [flaw, { clause, steps }] of Object.entries(FLAWS)) {
    it(`catches a Barbacane transport with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      const make = barbacaneFactory((options) =>
        createTransportFromSteps(options, { ...BARBACANE_STEPS, ...steps }),
      );
      await describeTranslatingTransportConformance(flaw, make, { api, timeoutMs: 1000 });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
      expect(broken.get(clause)).toMatch(/^contract broken \(transport\.[a-z-]+\): /);
    });
  }

  it('passes the unbroken transport the mutants are made from', async () => {
    const { api, tests } = collector();
    const make = barbacaneFactory((options) => createTransportFromSteps(options, BARBACANE_STEPS));
    await describeTranslatingTransportConformance('correct', make, { api, timeoutMs: 2000 });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
  });
});
