#!/usr/bin/env node
import { run } from './main.js';

// A reader that stops early (`plumbline manifest … | head -n 3`) closes the pipe; like other Unix
// tools, stop quietly with the exit code so far instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE')
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw error;
  });
}

process.exitCode = await run(process.argv.slice(2));
