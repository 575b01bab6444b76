import { PlumblineError } from '@plumbline/core';
import { assertValidLabel, sortLabels, type OciLabels } from './labels.js';

/**
 * The formats {@link renderLabels} writes:
 * - `args`: `--label 'key=value'` arguments for `docker build` and `buildah`, POSIX-shell quoted, one line;
 * - `dockerfile`: one `LABEL` instruction with double-quoted keys and values, one pair per line;
 * - `json`: a JSON object (sorted keys, two-space indent);
 * - `env`: `key=value` lines, as CI metadata actions (`docker/metadata-action` `labels`) accept.
 *
 * @public
 */
export type LabelFormat = 'args' | 'dockerfile' | 'json' | 'env';

/** The formats {@link renderLabels} accepts. @public */
export const LABEL_FORMATS: readonly LabelFormat[] = ['args', 'dockerfile', 'json', 'env'];

/**
 * Quotes a string for a POSIX shell (single quotes; a `'` becomes `'\''`). The result is one word
 * whatever the input: no expansion, globbing or splitting happens.
 *
 * @example
 * ```ts
 * shellQuote("it's"); // "'it'\\''s'"
 * ```
 * @public
 */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `docker build` / `buildah bud` arguments as an argv array (`['--label', 'key=value', …]`),
 * for `child_process.spawn`/`execFile` where no shell is involved.
 *
 * @example
 * ```ts
 * spawn('docker', ['build', ...labelArgs(labels), '.']);
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_OCI_LABEL_INVALID` for an invalid label.
 * @public
 */
export function labelArgs(labels: OciLabels): string[] {
  const args: string[] = [];
  for (const [key, value] of entries(labels)) args.push('--label', `${key}=${value}`);
  return args;
}

// Dockerfile double-quoted strings: backslash escapes `"` and `\`; `$` must be escaped because
// LABEL values undergo variable substitution.
function dockerfileQuote(value: string): string {
  return `"${value.replace(/["\\$]/g, (c) => `\\${c}`)}"`;
}

function entries(labels: OciLabels): [string, string][] {
  const sorted = sortLabels(labels);
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(sorted)) {
    assertValidLabel(key, value, Number.MAX_SAFE_INTEGER);
    out.push([key, value]);
  }
  return out;
}

/**
 * Renders labels in one of the {@link LabelFormat}s, keys in sorted order, ending with a newline.
 * Every label is checked again, so hand-made label sets cannot inject shell words, Dockerfile
 * instructions or extra lines.
 *
 * @example
 * ```ts
 * renderLabels({ 'dev.plumbline.artifact.hash': 'sha256:…' }, 'dockerfile');
 * // LABEL "dev.plumbline.artifact.hash"="sha256:…"\n
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_OCI_LABEL_INVALID` for an invalid label,
 *   `PLB_OCI_FORMAT` for an unknown format.
 * @public
 */
export function renderLabels(labels: OciLabels, format: LabelFormat): string {
  const list = entries(labels);
  switch (format) {
    case 'args':
      if (list.length === 0) return '';
      return `${list.map(([k, v]) => `--label ${shellQuote(`${k}=${v}`)}`).join(' ')}\n`;
    case 'dockerfile':
      if (list.length === 0) return '';
      return `LABEL ${list.map(([k, v]) => `${dockerfileQuote(k)}=${dockerfileQuote(v)}`).join(' \\\n      ')}\n`;
    case 'json':
      return `${JSON.stringify(Object.fromEntries(list), null, 2)}\n`;
    case 'env':
      return list.map(([k, v]) => `${k}=${v}\n`).join('');
    default:
      throw new PlumblineError(
        'PLB_OCI_FORMAT',
        `unknown label format ${JSON.stringify(format)} (expected ${LABEL_FORMATS.join(', ')})`,
        { details: { format } },
      );
  }
}
