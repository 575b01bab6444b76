import { positive } from './monitor/validate.js';

/**
 * When two data planes share one identity (two Barbacane gateways with one name, two agents with
 * one token), each new session replaces the other (4409) and the loser reconnects at once,
 * forever. `serveDrift` detects the loop and holds the name for the session that has it.
 *
 * @public
 */
export interface CollisionOptions {
  /** Replacements of a live session of one node within `windowMs` that mean a loop. Default 3. */
  readonly replacements?: number;
  /** The window in which replacements are counted. Default 60,000 ms. */
  readonly windowMs?: number;
  /** How long a name stays held after its last refused attempt. Default 300,000 ms. */
  readonly holdMs?: number;
}

/**
 * A node name that two or more data planes use at once, as reported by
 * {@link DriftServer.collisions}.
 *
 * @public
 */
export interface NameCollision {
  /** The node id (name) the data planes share. */
  readonly node_id: string;
  /** When the loop was detected (RFC 3339). */
  readonly since: string;
  /** Sessions refused since then. */
  readonly refused: number;
  /** The peers' addresses seen in the loop, when the transport knows them. */
  readonly addresses: readonly string[];
}

interface Track {
  replacements: number[];
  addresses: Set<string>;
  held: { since: number; refused: number; until: number } | null;
}

/** @internal The replacement-loop detector of one drift server. */
export class CollisionGuard {
  readonly #replacements: number;
  readonly #windowMs: number;
  readonly #holdMs: number;
  readonly #tracks = new Map<string, Track>();

  constructor(options: CollisionOptions = {}) {
    this.#replacements = positive(options.replacements, 'collision.replacements', 3, true);
    this.#windowMs = positive(options.windowMs, 'collision.windowMs', 60_000, true);
    this.#holdMs = positive(options.holdMs, 'collision.holdMs', 300_000, true);
  }

  /** Records that a live session of `node_id` was replaced; returns whether this is a loop. */
  replaced(node_id: string, now: number, addresses: readonly (string | undefined)[]): boolean {
    let track = this.#tracks.get(node_id);
    if (track === undefined) {
      track = { replacements: [], addresses: new Set(), held: null };
      this.#tracks.set(node_id, track);
    }
    track.replacements = track.replacements.filter((t) => now - t < this.#windowMs);
    track.replacements.push(now);
    for (const a of addresses)
      if (a !== undefined && track.addresses.size < 16) track.addresses.add(a);
    if (track.held === null && track.replacements.length >= this.#replacements) {
      track.held = { since: now, refused: 0, until: now + this.#holdMs };
    }
    this.#prune(now);
    return track.held !== null;
  }

  /** Whether a new session of `node_id` must be refused (and counts it), while the name is held. */
  refuses(node_id: string, now: number, address: string | undefined): boolean {
    const held = this.#tracks.get(node_id)?.held;
    if (held === undefined || held === null) return false;
    if (now >= held.until) {
      this.#tracks.delete(node_id);
      return false;
    }
    held.refused += 1;
    held.until = now + this.#holdMs;
    const track = this.#tracks.get(node_id)!;
    if (address !== undefined && track.addresses.size < 16) track.addresses.add(address);
    return true;
  }

  /** Forgets a node's hold (its holder is gone, so the next session may have the name). */
  release(node_id: string): void {
    const track = this.#tracks.get(node_id);
    if (track !== undefined) {
      track.held = null;
      track.replacements = [];
    }
  }

  /** The names held now. */
  list(now: number): NameCollision[] {
    this.#prune(now);
    const out: NameCollision[] = [];
    for (const [node_id, track] of this.#tracks) {
      if (track.held === null) continue;
      out.push({
        node_id,
        since: new Date(track.held.since).toISOString(),
        refused: track.held.refused,
        addresses: [...track.addresses].sort(),
      });
    }
    return out.sort((a, b) => (a.node_id < b.node_id ? -1 : 1));
  }

  #prune(now: number): void {
    for (const [node, track] of this.#tracks) {
      const quiet = track.replacements.every((t) => now - t >= this.#windowMs);
      if (quiet && (track.held === null || now >= track.held.until)) this.#tracks.delete(node);
    }
  }
}
