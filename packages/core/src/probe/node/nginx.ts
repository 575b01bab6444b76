import { PlumblineError } from '../../errors.js';
import { canonicalizeText } from '../canonical.js';
import { settle } from '../http.js';
import { createSecretRedactor, type SecretRedactor } from '../redact.js';
import { type LiveConfigProbe, type ProbeLimits, probeLimit } from '../probe.js';
import { runBounded } from './command.js';
import { createGenerationTracker, type GenerationSource } from './generation.js';
import { processTree, readPidFile } from './proc.js';

/**
 * Options of {@link createNginxProbe}.
 *
 * @public
 */
export interface NginxProbeOptions extends ProbeLimits {
  /** The master's pid file (the `pid` directive; Debian: `/run/nginx.pid`). */
  readonly pidFile: string;
  /** The nginx binary. Default: the master's own executable (`/proc/<pid>/exe`). */
  readonly binary?: string;
  /**
   * Arguments that select the configuration, passed to `nginx -T`. Default: `-c`, `-p` and `-e`
   * as read from the master's command line.
   */
  readonly configArgs?: readonly string[];
  /** Slack on process start times when comparing file times, in ms. Default 20. */
  readonly marginMs?: number;
  /** Replaces secrets before digests are taken. Default: a redactor with a random key. */
  readonly redactor?: SecretRedactor;
}

const WORKER = 'nginx: worker process';
const FILE_MARKER = /^# configuration file (.+):$/gm;

/**
 * `-c`, `-p` and `-e` from the master's title (`nginx: master process /usr/sbin/nginx -c …`).
 *
 * @internal
 */
export function nginxConfigArgs(title: string): string[] {
  const words = title.replace(/^nginx: master process\s*/, '').split(/\s+/);
  const out: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const flag = words[i]!;
    if ((flag === '-c' || flag === '-p' || flag === '-e') && words[i + 1] !== undefined) {
      out.push(flag, words[i + 1]!);
      i++;
    }
  }
  return out;
}

/**
 * A probe of what a running NGINX loaded. NGINX has no API that shows its running configuration,
 * so the probe tracks the workers' generation: NGINX starts a new set of worker processes at each
 * reload, and `nginx -T` (run with the master's own binary and configuration arguments) prints
 * the configuration files as on disk. A snapshot is taken when a new generation appears and kept
 * only if no file it names changed after the generation started; later file changes are a pending
 * reload. Linux only (it reads `/proc`). Limits: see docs/guides/nginx.md.
 *
 * The artifact payload to compare against is the output of `nginx -T` for the same
 * configuration: the file markers it prints are comments, so only the directives count.
 *
 * @example
 * ```ts
 * import { createNginxProbe } from '@plumbline/core/probe/node';
 * const probe = createNginxProbe({ pidFile: '/run/nginx.pid' });
 * ```
 * @throws {@link PlumblineError} `PLB_PROBE_INVALID_OPTION` for a bad limit.
 * @public
 */
export function createNginxProbe(options: NginxProbeOptions): LiveConfigProbe {
  const timeoutMs = probeLimit(options.timeoutMs, 'timeoutMs');
  const maxBytes = probeLimit(options.maxBytes, 'maxBytes');
  const redactor = options.redactor ?? createSecretRedactor();
  // The generation last seen: a worker set that still holds one of its workers is the same
  // generation (a worker respawned after a crash, or old workers not yet retitled "shutting down"
  // in the first moments of a reload); only a set of all-new workers is a reload.
  let last: { pids: Set<number>; id: string; startedAtMs: number } | undefined;
  const source: GenerationSource<{ binary: string; args: readonly string[] }> = {
    async current() {
      const pid = await readPidFile(options.pidFile);
      const { master, children, exe } = await processTree(pid);
      const workers = children.filter((c) => c.cmdline[0]?.trim() === WORKER);
      if (workers.length === 0) {
        throw new PlumblineError('PLB_PROBE_UNREACHABLE', 'nginx has no running worker processes');
      }
      if (last === undefined || !workers.some((w) => last!.pids.has(w.pid))) {
        last = {
          pids: new Set(workers.map((w) => w.pid)),
          id: `${pid}:${workers
            .map((w) => w.pid)
            .sort((a, b) => a - b)
            .join(',')}`,
          startedAtMs: Math.min(...workers.map((w) => w.startedAtMs)),
        };
      }
      return {
        id: last.id,
        startedAtMs: last.startedAtMs,
        context: {
          binary: options.binary ?? exe ?? 'nginx',
          args: options.configArgs ?? nginxConfigArgs(master.cmdline.join(' ')),
        },
      };
    },
    async snapshot(context, signal) {
      const dump = await runBounded(context.binary, ['-q', '-T', ...context.args], {
        timeoutMs,
        maxBytes,
        ...(signal === undefined ? {} : { signal }),
      });
      const text = new TextDecoder().decode(dump);
      const files = [...text.matchAll(FILE_MARKER)].map((m) => m[1]!);
      return { config: canonicalizeText(dump, 'nginx', { redactor, maxBytes }), files };
    },
  };
  const track = createGenerationTracker(source, options.marginMs ?? 20);
  return {
    kind: 'nginx',
    target: options.pidFile,
    probe: (signal) => settle(() => track(signal)),
    canonicalize: (payload) => canonicalizeText(payload, 'nginx', { redactor, maxBytes }),
  };
}
