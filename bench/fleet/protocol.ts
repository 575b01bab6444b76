/** IPC messages between the fleet bench driver and its child processes. */
export type ServerCommand = { cmd: 'reset' } | { cmd: 'report' } | { cmd: 'stop' };

/**
 * Milliseconds on the machine-wide monotonic clock. `process.hrtime` reads Linux's
 * `CLOCK_MONOTONIC`, one clock for every process of the machine (unlike `performance.now()`,
 * which counts from each process's own start), so a time taken in a client process and one taken
 * in the webhook receiver's process are directly comparable; unlike `Date.now()` it is not
 * stepped or slewed by NTP.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** How a fleet bench control-plane process is configured (its one argv, as JSON). */
export interface ServerConfig {
  mode: 'ours' | 'bare';
  nodes: number;
  heartbeatMs: number;
  /** `default` (the monitor's in-memory store), `memory`, `file` or `postgres`. */
  store: 'default' | 'memory' | 'file' | 'postgres';
  /** PostgreSQL schema (postgres) or state file directory (file). */
  schema?: string;
  replica?: number;
  /** Where alerts are POSTed (a `WebhookSink`, or the bare server's own POST). */
  webhookUrl?: string;
  /** Serve the dashboard's fleet event stream (`GET /v1/fleet/events`) on a loopback port. */
  sse?: boolean;
}

export interface ServerReport {
  mode: 'ours' | 'bare';
  /** Frames handled since the last reset. */
  frames: number;
  /** Heartbeat handling time, ms: p50 and p99. */
  handleP50: number;
  handleP99: number;
  /** Drift-to-alert latency, ms: count and p99 (ours only). */
  alerts: number;
  alertP50: number;
  alertP99: number;
  /** Server CPU time per handled frame since the reset, µs. */
  cpuPerFrameUs: number;
  /** Event-loop delay p99, ms. */
  loopDelayP99: number;
  /** Event-loop delay max, ms. */
  loopDelayMax: number;
  /** Resident set size, bytes. */
  rss: number;
  /** Open sessions. */
  sessions: number;
  /** Seconds since the reset. */
  elapsed: number;
  /**
   * PostgreSQL store counters (`--store postgres` runs): observed-state updates handed to the
   * store, rows written and upsert statements run, since the reset and since the start.
   */
  /**
   * Nodes attached to another replica that this replica's monitor showed `drifted`, with the
   * time it did (monoMs), since the reset.
   */
  remoteDrifted: [string, number][];
  /** The webhook sink's counters (ours) or the bare server's POSTs (bare). */
  webhook: { accepted: number; delivered: number; dropped: number; failures: number };
  /**
   * Every PostgreSQL statement this process ran since the reset (counted on the client), by
   * kind, and the rows they returned or changed.
   */
  pg?: { statements: number; reads: number; writes: number; other: number; rows: number };
  store?: {
    updates: number;
    rows: number;
    statements: number;
    totalUpdates: number;
    totalRows: number;
    totalStatements: number;
    /** Rows of which only last_seen was written, and their statements, since the reset. */
    seenRows: number;
    seenStatements: number;
    buffered: number;
    dropped: number;
  };
}

export type ClientCommand =
  | {
      cmd: 'connect';
      url: string;
      /** Several replicas: node i connects to urls[i % urls.length] (instead of url). */
      urls?: string[];
      first: number;
      count: number;
      concurrency: number;
      /** Each node heartbeats at this interval from its welcome on. */
      intervalMs: number;
    }
  | { cmd: 'drift'; count: number }
  | { cmd: 'saturate'; nodes: number; durationMs: number }
  | { cmd: 'drifts' }
  | { cmd: 'stop' };

export type ClientEvent =
  /** The first send (monoMs) of a heartbeat with the drifted hash, per drifted node id. */
  | { event: 'drifts'; sends: [string, number][] }
  | { event: 'connected'; ok: number; failed: number; ms: number }
  | { event: 'saturated'; sent: number }
  | { event: 'error'; message: string };

/** The token of simulated node i (the server knows the same scheme). */
export function tokenOf(i: number): string {
  return `bench-token-${i}-${'x'.repeat(24)}`;
}

export const H1 = `sha256:${'1'.repeat(64)}` as const;
export const H2 = `sha256:${'2'.repeat(64)}` as const;
