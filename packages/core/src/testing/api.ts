/**
 * The slice of a test framework the conformance suites use. Vitest, Jest and Mocha all fit;
 * when none is passed, the suites import `vitest` lazily.
 *
 * @public
 */
export interface ConformanceTestApi {
  /** Declares a group of tests named `name`; `body` declares them synchronously. */
  describe(name: string, body: () => void): void;
  /** Declares one asynchronous test; `timeout` is in milliseconds. */
  it(name: string, body: () => Promise<void>, timeout?: number): void;
}

/**
 * Options shared by the conformance suites.
 *
 * @public
 */
export interface ConformanceOptions {
  /** The test framework; default: `vitest`, imported lazily. */
  readonly api?: ConformanceTestApi;
  /** Per-test timeout and the longest wait for an asynchronous condition. Default 10,000 ms. */
  readonly timeoutMs?: number;
}

/** @internal */
export async function resolveApi(api: ConformanceTestApi | undefined): Promise<ConformanceTestApi> {
  if (api !== undefined) return api;
  const vitest = (await import('vitest')) as unknown as ConformanceTestApi;
  return { describe: vitest.describe, it: vitest.it };
}

/** @internal The test API and the per-test timeout (10 s unless given) of one suite. */
export async function suiteContext(
  options: ConformanceOptions,
): Promise<{ api: ConformanceTestApi; timeout: number }> {
  return { api: await resolveApi(options.api), timeout: options.timeoutMs ?? 10_000 };
}

/**
 * @internal Runs `body` with a fresh harness from `factory`, then releases it: `close` first,
 * and `dispose` even when `close` throws.
 */
export async function withFreshHarness<H extends { dispose?(): Promise<void> }>(
  factory: () => Promise<H>,
  close: (harness: H) => unknown,
  body: (harness: H) => Promise<void>,
): Promise<void> {
  const harness = await factory();
  try {
    await body(harness);
  } finally {
    try {
      await close(harness);
    } finally {
      await harness.dispose?.();
    }
  }
}

/**
 * One rule of an extension point's contract, in the words of the integrator implementing it.
 *
 * @public
 */
export interface ContractClause {
  /** A stable id (`transport.identity`, `store.batch`, ...), named in every failure. */
  readonly id: string;
  /** What an implementation must do. */
  readonly text: string;
}

/**
 * A failed conformance check. When raised by a suite's test, `clause` names the contract rule
 * the implementation broke and the message starts with it.
 *
 * @public
 */
export class ConformanceError extends Error {
  /** The id of the broken {@link ContractClause}, once the failure is attributed to one. */
  readonly clause: string | undefined;
  constructor(message: string, clause?: string) {
    super(message);
    this.name = 'ConformanceError';
    this.clause = clause;
  }
}

/**
 * @internal Registers one test of `clause`: any failure in `body` (a check, a timeout, a thrown
 * error) is reported as a {@link ConformanceError} that names the clause first.
 */
export function clauseTest(
  api: ConformanceTestApi,
  clause: ContractClause,
  name: string,
  body: () => Promise<void>,
  timeout: number,
): void {
  api.it(
    `${name} [${clause.id}]`,
    async () => {
      try {
        await body();
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new ConformanceError(
          `contract broken (${clause.id}): ${clause.text}\n  what happened: ${detail}`,
          clause.id,
        );
      }
    },
    timeout,
  );
}

/**
 * @internal {@link clauseTest} bound to one suite's api, timeout and harness factory: each
 * body is given a fresh harness.
 */
export function clauseRunner<H>(
  api: ConformanceTestApi,
  factory: () => Promise<H>,
  timeout: number,
): ClauseRunner<H> {
  return clauseRunnerWith(api, async (body) => body(await factory()), timeout);
}

/** @internal Registers one clause test whose body is given a harness; `ms` overrides the timeout. */
export type ClauseRunner<H> = (
  clause: ContractClause,
  name: string,
  body: (harness: H) => Promise<void>,
  ms?: number,
) => void;

/**
 * @internal {@link clauseTest} bound to one suite's api and timeout, each body run by
 * `withHarness` (which acquires a harness and releases it afterwards).
 */
export function clauseRunnerWith<H>(
  api: ConformanceTestApi,
  withHarness: (body: (harness: H) => Promise<void>) => Promise<void>,
  timeout: number,
): ClauseRunner<H> {
  return (clause, name, body, ms = timeout) =>
    clauseTest(api, clause, name, () => withHarness(body), ms);
}

/**
 * @internal The result of `run`; a rejection (a breach where an answer is due) becomes an error
 * `<what>: <message>`.
 */
export async function answerOf<T>(run: () => Promise<T>, what: string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  }
}

/** @internal Waits `ms` so that anything a broken implementation would still do happens. */
export function grace(ms = 30): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @internal */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}

/** @internal */
export function checkEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new ConformanceError(`${what}: expected ${e}, got ${a}`);
}

/** @internal Polls `condition` until it holds or `timeoutMs` passes. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new ConformanceError(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** @internal Expects `run` to reject with a PlumblineError-shaped error of `code`. */
export async function rejectsWith(
  run: () => Promise<unknown>,
  code: string,
  what: string,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    const actual = (error as { code?: unknown } | null)?.code;
    if (actual !== code)
      throw new ConformanceError(`${what}: expected ${code}, got ${String(actual)}`);
    return;
  }
  throw new ConformanceError(`${what}: expected a rejection with ${code}`);
}
