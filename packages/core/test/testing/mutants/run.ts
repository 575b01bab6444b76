import { ConformanceError, type ConformanceTestApi } from '@plumbline/core/testing';

/** One test of a suite, collected instead of registered. */
export interface CollectedTest {
  readonly name: string;
  readonly body: () => Promise<void>;
}

/** A test API that collects a suite's tests, so a test can run them against a mutant. */
export function collector(): { api: ConformanceTestApi; tests: CollectedTest[] } {
  const tests: CollectedTest[] = [];
  return {
    api: { describe: (_name, body) => body(), it: (name, body) => tests.push({ name, body }) },
    tests,
  };
}

/**
 * Runs the tests of `clause` (all tests when `clause` is undefined) and returns the clauses
 * named by their failures, with the first message of each.
 */
export async function brokenClauses(
  tests: readonly CollectedTest[],
  clause?: string,
): Promise<Map<string, string>> {
  const broken = new Map<string, string>();
  for (const test of tests) {
    if (clause !== undefined && !test.name.endsWith(`[${clause}]`)) continue;
    try {
      await test.body();
    } catch (error) {
      const id =
        error instanceof ConformanceError ? (error.clause ?? 'unnamed') : 'not a ConformanceError';
      if (!broken.has(id)) broken.set(id, error instanceof Error ? error.message : String(error));
    }
  }
  return broken;
}
