import { resolve } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import { readArtifactHeader } from '@plumbline/barbacane';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** What {@link readHeaderOrUnverified} read. @internal */
export type ArtifactHeaderInfo = Awaited<ReturnType<typeof readArtifactHeader>>;

/**
 * Reads the header of `artifact` (relative to the working directory). A legacy artifact, without
 * a Plumbline header, is noted on stderr and the command exits `Unverified`: then `undefined`.
 *
 * @internal
 */
export async function readHeaderOrUnverified(
  context: CommandContext,
  artifact: string,
  options?: Parameters<typeof readArtifactHeader>[1],
): Promise<ArtifactHeaderInfo | undefined> {
  try {
    return await readArtifactHeader(resolve(context.io.cwd, artifact), options);
  } catch (error) {
    if (!PlumblineError.is(error, 'PLB_LEGACY_ARTIFACT')) throw error;
    context.note(`plumbline: ${error.code}: ${artifact}: ${error.message}`);
    context.exit(ExitCode.Unverified);
    return undefined;
  }
}
