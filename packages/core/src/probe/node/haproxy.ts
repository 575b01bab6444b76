import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PlumblineError } from '../../errors.js';
import { canonicalizeText, checkSize } from '../canonical.js';
import { settle } from '../http.js';
import { createSecretRedactor, type SecretRedactor } from '../redact.js';
import { type LiveConfigProbe, type ProbeLimits, probeLimit } from '../probe.js';
import { createGenerationTracker, type GenerationSource } from './generation.js';
import { processTree, readPidFile } from './proc.js';

/**
 * Options of {@link createHaproxyProbe}.
 *
 * @public
 */
export interface HaproxyProbeOptions extends ProbeLimits {
  /** The pid file (`-p`): the master's pid in master-worker mode (`-W`), else the process's. */
  readonly pidFile: string;
  /**
   * The configuration files (or directories, whose `*.cfg` files are read in name order) in load
   * order. Default: the `-f` arguments of the master's command line.
   */
  readonly configFiles?: readonly string[];
  /** Slack on process start times when comparing file times, in ms. Default 20. */
  readonly marginMs?: number;
  /** Replaces secrets before digests are taken. Default: a redactor with a random key. */
  readonly redactor?: SecretRedactor;
}

/**
 * The `-f` arguments of an HAProxy command line, resolved against `cwd`.
 *
 * @internal
 */
export function haproxyConfigFiles(argv: readonly string[], cwd: string): string[] {
  const files: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '-f' && argv[i + 1] !== undefined) files.push(resolve(cwd, argv[++i]!));
  }
  return files;
}

async function expand(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const s = await stat(path).catch(() => undefined);
    if (s?.isDirectory()) {
      const names = (await readdir(path)).filter((n) => n.endsWith('.cfg')).sort();
      out.push(...names.map((n) => join(path, n)));
    } else out.push(path);
  }
  return out;
}

/**
 * A probe of what a running HAProxy loaded. HAProxy cannot print its running configuration, so
 * the probe tracks its generation (in master-worker mode, each reload starts a new worker; the
 * newest worker is the running generation) and snapshots the configuration files it loads
 * (`-f`) when a new generation appears, kept only if no file changed after that generation
 * started; later file changes are a pending reload. Changes made through the runtime API
 * (`set server`, `add server`) are not configuration files and are not seen. Linux only.
 *
 * The artifact payload to compare against is the configuration file (or the files concatenated
 * in load order), normalised the same way.
 *
 * @example
 * ```ts
 * import { createHaproxyProbe } from '@plumbline/core/probe/node';
 * const probe = createHaproxyProbe({ pidFile: '/run/haproxy.pid' });
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for a bad limit.
 * @public
 */
export function createHaproxyProbe(options: HaproxyProbeOptions): LiveConfigProbe {
  const maxBytes = probeLimit(options.maxBytes, 'maxBytes');
  const redactor = options.redactor ?? createSecretRedactor();
  const source: GenerationSource<readonly string[]> = {
    async current() {
      const pid = await readPidFile(options.pidFile);
      const { master, children } = await processTree(pid);
      // Master-worker mode: the newest child is the current worker; otherwise the process itself.
      const running =
        children.length === 0
          ? master
          : children.reduce((a, b) => (b.startedAtMs > a.startedAtMs ? b : a));
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '/');
      const files = options.configFiles ?? haproxyConfigFiles(master.cmdline, cwd);
      if (files.length === 0) {
        throw new PlumblineError('PLB_PROBE_INVALID_OPTION', 'no configuration file given (-f)');
      }
      return { id: `${running.pid}`, startedAtMs: running.startedAtMs, context: files };
    },
    async snapshot(paths) {
      const files = await expand(paths);
      const parts: Uint8Array[] = [];
      let total = 0;
      for (const file of files) {
        let bytes: Uint8Array;
        try {
          checkSize(total + (await stat(file)).size, maxBytes);
          bytes = await readFile(file);
        } catch (cause) {
          if (PlumblineError.is(cause)) throw cause;
          throw new PlumblineError(
            'PLB_PROBE_CONFIG_UNREADABLE',
            'a configuration file cannot be read',
            {
              cause,
              details: { errno: (cause as { code?: string }).code },
            },
          );
        }
        total += bytes.length + 1;
        checkSize(total, maxBytes);
        parts.push(bytes, new Uint8Array([0x0a]));
      }
      const all = new Uint8Array(total);
      let offset = 0;
      for (const part of parts) {
        all.set(part, offset);
        offset += part.length;
      }
      return { config: canonicalizeText(all, 'haproxy', { redactor, maxBytes }), files };
    },
  };
  const track = createGenerationTracker(source, options.marginMs ?? 20);
  return {
    kind: 'haproxy',
    target: options.pidFile,
    probe: (signal) => settle(() => track(signal)),
    canonicalize: (payload) => canonicalizeText(payload, 'haproxy', { redactor, maxBytes }),
  };
}
