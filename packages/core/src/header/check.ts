import { PlumblineError, type PlumblineErrorCode } from '../errors.js';
import { manifestFromEntries } from '../manifest/from-entries.js';
import type { ManifestEntry } from '../manifest/types.js';
import type { ProvenanceHeader } from './types.js';

/**
 * One inconsistency found in a header.
 *
 * @public
 */
export interface HeaderProblem {
  /** A stable code, e.g. `PLB_ROOT_MISMATCH`. */
  readonly code: PlumblineErrorCode;
  /** What is wrong. */
  readonly message: string;
}

/**
 * Options of {@link checkHeader}.
 *
 * @public
 */
export interface CheckHeaderOptions {
  /** As in `manifestFromEntries`: whether paths differing only by case are a problem. Default `'error'`. */
  readonly caseCollisions?: 'error' | 'allow';
}

/**
 * Checks a header's internal consistency: every input path is valid, inputs are sorted by the
 * UTF-8 bytes of their path without duplicates, and `artifact_hash` equals the Merkle root
 * recomputed from the inputs. Never throws for a bad header; returns the problems found.
 *
 * @example
 * ```ts
 * const problems = checkHeader(header);
 * if (problems.length > 0) console.error(problems[0].message);
 * ```
 * @public
 */
export function checkHeader(
  header: ProvenanceHeader,
  options: CheckHeaderOptions = {},
): HeaderProblem[] {
  const problems: HeaderProblem[] = [];
  let recomputed;
  try {
    recomputed = manifestFromEntries(header.inputs, {
      caseCollisions: options.caseCollisions ?? 'error',
      maxEntries: Number.MAX_SAFE_INTEGER,
    });
  } catch (error) {
    const coded = PlumblineError.is(error)
      ? error
      : new PlumblineError('PLB_HEADER_INVALID', 'the inputs cannot form a manifest');
    problems.push({ code: coded.code, message: `header inputs: ${coded.message}` });
    return problems;
  }
  const sortedSame = recomputed.entries.every(
    (entry: ManifestEntry, i: number) => header.inputs[i]?.path === entry.path,
  );
  if (!sortedSame) {
    problems.push({
      code: 'PLB_HEADER_INPUTS_UNSORTED',
      message: 'header inputs are not sorted by the UTF-8 bytes of their path',
    });
  }
  if (recomputed.root !== header.artifact_hash) {
    problems.push({
      code: 'PLB_ROOT_MISMATCH',
      message: `artifact_hash ${header.artifact_hash} is not the root of the inputs (${recomputed.root})`,
    });
  }
  return problems;
}
