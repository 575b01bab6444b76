import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PlumblineError } from '@plumbline/core';

/** Largest configuration file read, in bytes. */
const MAX_CONFIG_BYTES = 1024 * 1024;

const listen = z
  .string()
  .regex(/^(?:\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/, 'expected HOST:PORT');
const duration = z.union([
  z.string().regex(/^\d+(?:\.\d+)?(ms|s|m|h)?$/, 'expected a duration such as 500ms, 5s or 2m'),
  z.number().positive(),
]);
const path = z.string().min(1, 'expected a file path');
const positiveInt = z.number().int('expected an integer').positive('expected a positive integer');

/**
 * The `plumbline control-plane --config FILE` document (JSON). Keys are the long flag names;
 * flags given on the command line override them.
 *
 * @internal
 */
export const controlPlaneConfigSchema = z
  .object({
    listen: listen.optional(),
    'admin-listen': listen.optional(),
    'node-tokens': path.optional(),
    'admin-token-file': path.optional(),
    'state-file': path.optional(),
    store: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
      .optional(),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,39}$/, 'expected 1-40 lower-case letters, digits or _')
      .optional(),
    protocol: z.enum(['ws', 'barbacane', 'both']).optional(),
    'barbacane-keys': path.optional(),
    'heartbeat-interval': duration.optional(),
    'replica-timeout': duration.optional(),
    'sweep-interval': duration.optional(),
    'stale-after': positiveInt.optional(),
    webhook: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    'webhook-secret-file': path.optional(),
    'audit-log': path.optional(),
    'audit-key': path.optional(),
    'log-level': z.enum(['debug', 'info', 'warn', 'error']).optional(),
    tls: z
      .object({
        cert: path,
        key: path,
        ca: path.optional(),
        'client-auth': z.enum(['none', 'optional', 'require']).optional(),
      })
      .strict()
      .optional(),
    mtls: z
      .object({
        'trust-domains': z.array(z.string().min(1)).min(1, 'expected at least one trust domain'),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        'max-frame-bytes': positiveInt.max(16 * 1024 * 1024).optional(),
        'handshake-timeout': duration.optional(),
        'hello-timeout': duration.optional(),
        'messages-per-second': positiveInt.optional(),
        'message-burst': positiveInt.optional(),
        'max-connections': positiveInt.optional(),
        'ping-interval': duration.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * A validated control-plane configuration file.
 *
 * @internal
 */
export type ControlPlaneConfig = z.output<typeof controlPlaneConfigSchema>;

/**
 * Formats the first zod issue as `key.path: problem` (unknown keys are named too).
 *
 * @internal
 */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const key = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      if (issue.code === 'unrecognized_keys') {
        const keys = (issue as { keys: string[] }).keys;
        return `${keys.map((k) => (key === '(root)' ? k : `${key}.${k}`)).join(', ')}: unknown key`;
      }
      return `${key}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Reads and validates a configuration file against `schema`.
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_CONFIG_INVALID` naming the file, the key and the problem;
 *   `PLB_IO` when it cannot be read.
 * @internal
 */
export async function readConfigFile<S extends z.ZodType>(
  file: string,
  schema: S,
): Promise<z.output<S>> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_CONFIG_BYTES) {
      throw new PlumblineError(
        'PLB_CONFIG_INVALID',
        `${file}: larger than ${MAX_CONFIG_BYTES} bytes`,
        {
          details: { path: file },
        },
      );
    }
    text = bytes.toString('utf8');
  } catch (cause) {
    if (PlumblineError.is(cause)) throw cause;
    throw new PlumblineError('PLB_IO', `cannot read config file ${file}`, {
      cause,
      details: { path: file, errno: (cause as { code?: string }).code },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PlumblineError('PLB_CONFIG_INVALID', `${file}: not valid JSON`, {
      cause,
      details: { path: file },
    });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new PlumblineError('PLB_CONFIG_INVALID', `${file}: ${describeZodError(result.error)}`, {
      details: { path: file },
    });
  }
  return result.data as z.output<S>;
}
