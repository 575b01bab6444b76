import { spawn } from 'node:child_process';
import { PlumblineError } from '../../errors.js';
import { canonicalizeBytes, canonicalizeJson, canonicalizeText } from '../canonical.js';
import { settle } from '../http.js';
import { createSecretRedactor, type SecretRedactor } from '../redact.js';
import {
  type CanonicalConfig,
  type LiveConfigProbe,
  type ProbeLimits,
  probeLimit,
} from '../probe.js';

/**
 * How the output of a command is canonicalized: `json` (RFC 8785), `nginx` or `haproxy`
 * (normalised text), or `bytes` (as printed).
 *
 * @public
 */
export type CommandOutputFormat = 'json' | 'nginx' | 'haproxy' | 'bytes';

/**
 * Options of {@link runBounded}.
 *
 * @internal
 */
export interface RunBoundedOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs a program (no shell) and collects what it prints on stdout, killing it when it outlives
 * `timeoutMs` or prints more than `maxBytes`. Its stderr is discarded (it may hold secrets).
 *
 * @throws {@link PlumblineError} `PLB_PROBE_TIMEOUT`, `PLB_PROBE_TOO_LARGE`,
 *   `PLB_PROBE_COMMAND_FAILED` (cannot start, or a non-zero exit status), `PLB_PROBE_ABORTED`.
 * @internal
 */
export function runBounded(
  file: string,
  args: readonly string[],
  options: RunBoundedOptions,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, {
        stdio: ['ignore', 'pipe', 'ignore'],
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.env === undefined ? {} : { env: { ...options.env } }),
      });
    } catch (cause) {
      reject(new PlumblineError('PLB_PROBE_COMMAND_FAILED', `cannot run ${file}`, { cause }));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let failure: PlumblineError | undefined;
    const stop = (error: PlumblineError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () =>
        stop(
          new PlumblineError(
            'PLB_PROBE_TIMEOUT',
            `${file} did not finish within ${options.timeoutMs} ms`,
          ),
        ),
      options.timeoutMs,
    );
    const onAbort = (): void =>
      stop(new PlumblineError('PLB_PROBE_ABORTED', 'the probe was aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > options.maxBytes) {
        stop(
          new PlumblineError(
            'PLB_PROBE_TOO_LARGE',
            `${file} printed more than ${options.maxBytes} bytes`,
            {
              details: { limit: options.maxBytes },
            },
          ),
        );
      } else chunks.push(chunk);
    });
    child.on('error', (cause) =>
      stop(new PlumblineError('PLB_PROBE_COMMAND_FAILED', `cannot run ${file}`, { cause })),
    );
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) reject(failure);
      else if (code !== 0) {
        reject(
          new PlumblineError(
            'PLB_PROBE_COMMAND_FAILED',
            `${file} exited with status ${code ?? signal}`,
            {
              details: { status: code, signal },
            },
          ),
        );
      } else resolve(new Uint8Array(Buffer.concat(chunks)));
    });
  });
}

/**
 * Canonicalizes bytes in one of the {@link CommandOutputFormat}s.
 *
 * @internal
 */
export function canonicalizeAs(
  bytes: Uint8Array,
  format: CommandOutputFormat,
  redactor: SecretRedactor,
  maxBytes: number,
): CanonicalConfig {
  if (format === 'json') return canonicalizeJson(bytes, { redactor, maxBytes });
  if (format === 'bytes') return canonicalizeBytes(bytes, { maxBytes });
  return canonicalizeText(bytes, format, { redactor, maxBytes });
}

/**
 * Options of {@link createCommandProbe}.
 *
 * @public
 */
export interface CommandProbeOptions extends ProbeLimits {
  /** The program to run (no shell: arguments are passed as given). */
  readonly command: string;
  /** Its arguments. */
  readonly args?: readonly string[];
  /** How its output is canonicalized. Default `bytes`. */
  readonly format?: CommandOutputFormat;
  /** Working directory. */
  readonly cwd?: string;
  /** The environment (default the agent's). */
  readonly env?: Readonly<Record<string, string>>;
  /** Replaces secrets before digests are taken. Default: a redactor with a random key. */
  readonly redactor?: SecretRedactor;
  /** The `kind` reported. Default `command`. */
  readonly kind?: string;
}

/**
 * A probe whose live configuration is what a command prints (for gateways whose own tooling
 * dumps the running configuration). The command runs without a shell, is killed at the
 * timeout or the size limit, and a non-zero exit status is a failing probe.
 *
 * @example
 * ```ts
 * import { createCommandProbe } from '@plumbline/core/probe/node';
 * const probe = createCommandProbe({ command: 'my-gateway', args: ['config', 'dump'], format: 'json' });
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for an empty command or a bad limit.
 * @public
 */
export function createCommandProbe(options: CommandProbeOptions): LiveConfigProbe {
  if (options.command.length === 0) {
    throw new PlumblineError('PLB_PROBE_INVALID_OPTION', 'the probe command is empty');
  }
  const timeoutMs = probeLimit(options.timeoutMs, 'timeoutMs');
  const maxBytes = probeLimit(options.maxBytes, 'maxBytes');
  const format = options.format ?? 'bytes';
  const redactor = options.redactor ?? createSecretRedactor();
  return {
    kind: options.kind ?? 'command',
    target: options.command,
    probe: (signal) =>
      settle(async () => {
        const bytes = await runBounded(options.command, options.args ?? [], {
          timeoutMs,
          maxBytes,
          ...(signal === undefined ? {} : { signal }),
          ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
          ...(options.env === undefined ? {} : { env: options.env }),
        });
        return { config: canonicalizeAs(bytes, format, redactor, maxBytes) };
      }),
    canonicalize: (payload) => canonicalizeAs(payload, format, redactor, maxBytes),
  };
}
