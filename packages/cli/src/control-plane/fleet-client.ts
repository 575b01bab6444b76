import { PlumblineError } from '@plumbline/core';

/**
 * Calls the control plane's fleet API with the admin token.
 *
 * @internal
 */
export async function callFleetApi(options: {
  readonly baseUrl: string;
  readonly token: string;
  readonly method: 'GET' | 'PUT';
  readonly path: string;
  readonly body?: unknown;
  readonly timeoutMs?: number;
}): Promise<unknown> {
  let url: URL;
  try {
    url = new URL(
      options.path,
      options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    );
  } catch {
    throw new PlumblineError('PLB_USAGE', 'the control-plane admin URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PlumblineError(
      'PLB_USAGE',
      'the control-plane admin URL must be http:// or https://',
    );
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method,
      headers: {
        authorization: `Bearer ${options.token}`,
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      redirect: 'error',
    });
  } catch (cause) {
    throw new PlumblineError(
      'PLB_FLEET_UNREACHABLE',
      `cannot reach the control plane at ${url.origin}`,
      {
        cause,
        details: { url: url.origin },
      },
    );
  }
  const text = await response.text();
  let value: unknown;
  try {
    value = text.length === 0 ? null : JSON.parse(text);
  } catch {
    value = null;
  }
  if (!response.ok) {
    const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code =
      typeof error?.code === 'string' && /^PLB_[A-Z0-9_]+$/.test(error.code)
        ? (error.code as `PLB_${string}`)
        : response.status === 401
          ? 'PLB_FLEET_UNAUTHORIZED'
          : 'PLB_FLEET_API';
    const message = typeof error?.message === 'string' ? error.message : `HTTP ${response.status}`;
    throw new PlumblineError(code, `control plane: ${message}`, {
      details: { status: response.status },
    });
  }
  return value;
}
