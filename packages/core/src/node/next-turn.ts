/**
 * Resolves on the event loop's next turn (after pending I/O callbacks): what a long synchronous
 * loop (a walk, hashing, a copy) awaits every so often so timers, I/O and abort signals get through.
 *
 * @internal
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Chunks of 1 MiB a loop reads (or copies) synchronously between two {@link nextTurn}s: a few
 * milliseconds of hashing, so timers, I/O and aborts wait no longer than that.
 *
 * @internal
 */
export const CHUNKS_PER_TURN = 4;
