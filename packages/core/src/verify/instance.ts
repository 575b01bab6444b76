/**
 * A random UUID (v4) from Web Crypto, available in Node, Bun, Deno and edge runtimes.
 *
 * @internal
 */
export function randomId(): string {
  return globalThis.crypto.randomUUID();
}

let processInstance: string | undefined;

/**
 * The instance id of this process: a UUID chosen once per process start, sent as the drift
 * protocol's `instance_id` and stamped on every {@link LoadedArtifact}.
 *
 * @example
 * ```ts
 * import { processInstanceId } from '@plumbline/core/verify';
 * console.log(processInstanceId()); // the same UUID for the life of the process
 * ```
 * @public
 */
export function processInstanceId(): string {
  processInstance ??= randomId();
  return processInstance;
}

/**
 * Formats a time as RFC 3339 UTC with a `Z` suffix and milliseconds.
 *
 * @internal
 */
export function rfc3339(date: Date): string {
  return date.toISOString();
}
