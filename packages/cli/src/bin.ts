#!/usr/bin/env node
import { runsHashingCommand } from './commands/index.js';

const argv = process.argv.slice(2);
// A command that hashes files starts its hashing workers first, so that their start-up (tens of
// milliseconds each) overlaps the loading of the command's code instead of following it.
if (runsHashingCommand(argv)) {
  (await import('@plumbline/core/internal/cli-workers')).prestartHashWorkers();
}
const { run } = await import('./main.js');

// A reader that stops early (`plumbline manifest … | head -n 3`) closes the pipe; like other Unix
// tools, stop quietly with the exit code so far instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE')
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw error;
  });
}

process.exitCode = await run(argv);
