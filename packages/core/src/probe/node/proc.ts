import { readFile, readdir, readlink } from 'node:fs/promises';
import { PlumblineError } from '../../errors.js';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on every Linux architecture). */
const USER_HZ = 100;

/**
 * One process as `/proc` shows it.
 *
 * @internal
 */
export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Start time in milliseconds since the epoch (about ±10 ms). */
  readonly startedAtMs: number;
  /** The command line, arguments split on NUL (a process title set by the program is one string). */
  readonly cmdline: readonly string[];
}

function unsupported(): PlumblineError {
  return new PlumblineError(
    'PLB_PROBE_UNSUPPORTED',
    'this probe reads /proc and runs on Linux only',
  );
}

/** Boot time in ms since the epoch, from /proc/uptime (centisecond precision). */
async function bootTimeMs(): Promise<number> {
  const uptime = await readFile('/proc/uptime', 'utf8').catch(() => {
    throw unsupported();
  });
  return Date.now() - Number(uptime.split(' ')[0]) * 1000;
}

async function statOf(pid: number, boot: number): Promise<ProcInfo | undefined> {
  let stat: string;
  let cmdline: string;
  try {
    [stat, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
  } catch {
    return undefined; // gone
  }
  // Fields after the parenthesised command name (which may hold spaces): state is field 3.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  return {
    pid,
    ppid,
    startedAtMs: boot + (startTicks * 1000) / USER_HZ,
    cmdline: cmdline.split('\0').filter((part) => part.length > 0),
  };
}

/** The pids of a process's children: from `/proc/<pid>/task/<tid>/children` when the kernel has it, else a scan of `/proc`. */
async function childPids(pid: number): Promise<number[]> {
  try {
    const tasks = await readdir(`/proc/${pid}/task`);
    const lists = await Promise.all(
      tasks.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, 'utf8')),
    );
    return lists.flatMap((list) =>
      list
        .split(' ')
        .filter((p) => p !== '')
        .map(Number),
    );
  } catch {
    const entries = await readdir('/proc');
    return entries.filter((name) => /^\d+$/.test(name) && Number(name) !== pid).map(Number);
  }
}

/**
 * A process and its live children.
 *
 * @throws {@link PlumblineError} `PLB_PROBE_UNSUPPORTED` without `/proc`;
 *   `PLB_PROBE_UNREACHABLE` when `pid` is not running.
 * @internal
 */
export async function processTree(
  pid: number,
): Promise<{ master: ProcInfo; children: ProcInfo[]; exe: string | undefined }> {
  const boot = await bootTimeMs();
  const master = await statOf(pid, boot);
  if (master === undefined) {
    throw new PlumblineError(
      'PLB_PROBE_UNREACHABLE',
      `the gateway's master process ${pid} is not running`,
      {
        details: { pid },
      },
    );
  }
  const children: ProcInfo[] = [];
  await Promise.all(
    (await childPids(pid)).map(async (child) => {
      const info = await statOf(child, boot);
      if (info !== undefined && info.ppid === pid) children.push(info);
    }),
  );
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
  return { master, children, exe };
}

/**
 * The pid a pid file holds.
 *
 * @throws {@link PlumblineError} `PLB_PROBE_UNREACHABLE` when the file is missing or holds no pid.
 * @internal
 */
export async function readPidFile(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PlumblineError('PLB_PROBE_UNREACHABLE', 'the gateway is not running (no pid file)', {
      details: { pid_file: path },
    });
  }
  const pid = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new PlumblineError('PLB_PROBE_UNREACHABLE', 'the pid file holds no process id', {
      details: { pid_file: path },
    });
  }
  return pid;
}
