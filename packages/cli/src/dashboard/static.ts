import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpStatusOf } from '../control-plane/http-errors.js';

/**
 * The Content-Security-Policy of the dashboard: only its own scripts, styles and images, data
 * requests to its own origin, no frames, no forms, no plugins.
 *
 * @internal
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Most bytes of all the dashboard's files together (they are held in memory). */
const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

/**
 * The folders where the built dashboard is looked for: `ui/` beside the built CLI, and, when
 * running from sources, the CLI package's `dist/ui/` or, in the repository, the dashboard
 * workspace's own build (`packages/dashboard/dist/`, so the CLI need not be built).
 *
 * @internal
 */
export function defaultUiDirs(): string[] {
  return [
    fileURLToPath(new URL('./ui/', import.meta.url)),
    fileURLToPath(new URL('../../dist/ui/', import.meta.url)),
    fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url)),
  ];
}

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly immutable: boolean;
}

function load(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let total = 0;
  const walk = (folder: string, depth: number): void => {
    if (depth > 4) return;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (entry.isFile()) {
        const type = TYPES[extname(entry.name).toLowerCase()];
        if (type === undefined) continue;
        const size = statSync(path).size;
        total += size;
        if (total > MAX_TOTAL_BYTES) return;
        const name = relative(dir, path).split(sep).join('/');
        files.set(name, { body: readFileSync(path), type, immutable: name.startsWith('assets/') });
      }
    }
  };
  walk(dir, 0);
  return files;
}

/**
 * Serves the built dashboard's static files under `/ui/` from memory (only the files found at
 * start, so no path from a request ever reaches the file system), with a strict CSP and
 * `nosniff`. The page itself needs no token; every data request it makes does.
 *
 * @internal
 */
export function createStaticUi(
  dirs: readonly string[] = defaultUiDirs(),
): (req: IncomingMessage, res: ServerResponse) => void {
  let files: Map<string, StaticFile> | undefined;
  const headers = {
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
  const error = (res: ServerResponse, code: string, message: string, extra = {}): void => {
    const text = `${JSON.stringify({ error: { code, message } })}\n`;
    res.writeHead(httpStatusOf(code), {
      ...headers,
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...extra,
    });
    res.end(text);
  };
  return (req, res) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      error(res, 'PLB_FLEET_API_METHOD', 'use GET, HEAD', { allow: 'GET, HEAD' });
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (pathname === '/ui') {
      res.writeHead(308, { ...headers, location: '/ui/', 'content-length': '0' });
      res.end();
      return;
    }
    if (files === undefined) {
      const dir = dirs.find((d) => existsSync(join(d, 'index.html')));
      files = dir === undefined ? new Map() : load(dir);
    }
    if (files.size === 0) {
      error(res, 'PLB_DASHBOARD_NOT_BUILT', 'the dashboard is not part of this build');
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(pathname.slice('/ui/'.length));
    } catch {
      error(res, 'PLB_FLEET_API_INVALID', 'invalid path encoding');
      return;
    }
    // Dot segments never get here: the URL parser above already resolved them.
    const file = files.get(name === '' ? 'index.html' : name);
    if (file === undefined) {
      error(res, 'PLB_FLEET_API_NOT_FOUND', 'no such file');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': file.type,
      'content-length': String(file.body.length),
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : file.body);
  };
}
