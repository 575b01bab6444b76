import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FleetMonitor } from '@plumbline/core/drift';
import { createFleetEventStream, type FleetEventStreamOptions } from './events.js';
import { createStaticUi, defaultUiDirs } from './static.js';

export {
  createFleetEventStream,
  type FleetEventStream,
  type FleetEventStreamOptions,
} from './events.js';
export { createStaticUi, DASHBOARD_CSP, defaultUiDirs } from './static.js';

/**
 * Options of {@link createDashboard}.
 *
 * @internal
 */
export interface DashboardOptions extends Omit<FleetEventStreamOptions, 'monitor'> {
  readonly monitor: FleetMonitor;
  /** Checks the `Authorization` header (the fleet API's admin token check). */
  readonly authorize: (authorization: string | undefined) => boolean;
  /** Folders where the built page is looked for (the first holding `index.html` wins). */
  readonly uiDirs?: readonly string[];
}

/**
 * The dashboard routes of the admin listener.
 *
 * @internal
 */
export interface Dashboard {
  /** Answers `GET /v1/fleet/events` and `/ui/…`; returns `false` (untouched) for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends the event streams. */
  close(): void;
  /** Connected event stream clients. */
  clients(): number;
}

/**
 * Creates the dashboard routes: the live event stream `GET /v1/fleet/events` (admin bearer
 * token, like the fleet API) and the static page under `/ui/` (loads without a token; every
 * data request it makes carries one).
 *
 * @example
 * ```ts
 * const dashboard = createDashboard({ monitor, authorize });
 * http.createServer((req, res) => dashboard.handle(req, res) || api(req, res));
 * ```
 * @internal
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const stream = createFleetEventStream(options);
  const ui = createStaticUi(options.uiDirs ?? defaultUiDirs());
  const json = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    extra = {},
  ): void => {
    const text = `${JSON.stringify({ error: { code, message } })}\n`;
    res.writeHead(status, {
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...extra,
    });
    res.end(text);
  };
  return {
    handle(req, res) {
      const pathname = new URL(req.url ?? '/', 'http://x').pathname;
      if (pathname === '/ui' || pathname.startsWith('/ui/')) {
        ui(req, res);
        return true;
      }
      if (pathname !== '/v1/fleet/events') return false;
      if (!options.authorize(req.headers.authorization)) {
        json(res, 401, 'PLB_FLEET_UNAUTHORIZED', 'a valid admin bearer token is required', {
          'www-authenticate': 'Bearer',
        });
        return true;
      }
      if (req.method !== 'GET') {
        json(res, 405, 'PLB_FLEET_API_METHOD', 'use GET', { allow: 'GET' });
        return true;
      }
      stream.handle(req, res);
      return true;
    },
    close: () => stream.close(),
    clients: () => stream.clients(),
  };
}
