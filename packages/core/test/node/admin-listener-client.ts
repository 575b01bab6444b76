import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** A response as the tests see it. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Options of one test request. */
export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** For https: CA to trust and an optional client certificate. */
  ca?: string;
  key?: string;
  cert?: string;
}

/** Sends one request with node:http(s) (no keep-alive) and reads the whole reply. */
export function request(base: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const url = new URL(base);
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        agent: false,
        ...(secure
          ? {
              ca: options.ca,
              ...(options.key === undefined ? {} : { key: options.key, cert: options.cert }),
            }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Writes raw bytes to a plain listener and collects what it sends back; `done` may end the
 * connection early (given everything so far, as latin1). Resolves with the bytes when it closes.
 */
function exchange(
  base: string,
  text: string,
  done: (sofar: string) => boolean = () => false,
): Promise<Buffer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(
      { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) },
      () => socket.write(text),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (done(Buffer.concat(chunks).toString('latin1'))) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Writes raw bytes to a plain listener and returns everything it answers until it closes. */
export async function rawRequest(base: string, text: string): Promise<Reply> {
  // Close once a full response with its Content-Length body has arrived.
  const bytes = await exchange(base, text, (all) => {
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const length = /content-length: *(\d+)/i.exec(all.slice(0, end))?.[1];
    return length !== undefined && all.length >= end + 4 + Number(length);
  });
  const all = bytes.toString('utf8');
  const end = all.indexOf('\r\n\r\n');
  const head = end < 0 ? all : all.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: http.IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(' ')[1] ?? 0),
    headers,
    body: end < 0 ? '' : all.slice(end + 4),
  };
}

/** Writes raw bytes to a plain listener and returns all it sends until it closes the connection. */
export async function rawExchange(base: string, text: string): Promise<string> {
  return (await exchange(base, text)).toString('utf8');
}
