/** IPC messages between the fleet bench driver and its child processes. */
export type ServerCommand = { cmd: 'reset' } | { cmd: 'report' } | { cmd: 'stop' };

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
  store?: {
    updates: number;
    rows: number;
    statements: number;
    totalUpdates: number;
    totalRows: number;
    totalStatements: number;
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
    }
  | { cmd: 'heartbeats'; intervalMs: number }
  | { cmd: 'drift'; count: number }
  | { cmd: 'saturate'; nodes: number; durationMs: number }
  | { cmd: 'stop' };

export type ClientEvent =
  | { event: 'connected'; ok: number; failed: number; ms: number }
  | { event: 'saturated'; sent: number }
  | { event: 'error'; message: string };

/** The token of simulated node i (the server knows the same scheme). */
export function tokenOf(i: number): string {
  return `bench-token-${i}-${'x'.repeat(24)}`;
}

export const H1 = `sha256:${'1'.repeat(64)}` as const;
export const H2 = `sha256:${'2'.repeat(64)}` as const;
