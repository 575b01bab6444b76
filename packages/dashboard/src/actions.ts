/**
 * The actions of the admin token: set a cluster's desired state (a known manifest, an uploaded
 * one, or a pasted hash) with a reason and a deadline, and declare a cluster's expected nodes;
 * each through a confirmation step, with the fleet API's own routes (audited by the control plane
 * like any other call).
 *
 * @packageDocumentation
 */
import { h, type ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { releaseOf, shortHash, type Cluster, type FleetNode } from './model.js';
import { errorText, sendJson } from './ui.js';

/** Which action a dialog takes. @public */
export type ActionKind = 'desired' | 'expected';

const HASH = /^sha256:[0-9a-f]{64}$/;

interface DialogProps {
  readonly cluster: Cluster;
  readonly kind: ActionKind;
  readonly token: string;
  readonly manifests: readonly string[];
  readonly nodes: ReadonlyMap<string, FleetNode>;
  readonly onClose: () => void;
  readonly onUnauthorized: () => void;
}

type Step =
  | { readonly step: 'edit'; readonly error: string | null }
  | { readonly step: 'confirm' }
  | { readonly step: 'sending' }
  | { readonly step: 'done'; readonly message: string };

/** ` (version N)` of a desired state the fleet API answered, when it says. */
function versionOf(body: unknown): string {
  const version = (body as { version?: unknown } | null)?.version;
  return typeof version === 'number' ? ` (version ${version})` : '';
}

function field(id: string, label: string, control: ComponentChildren, hint?: string) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint === undefined ? null : h('p', { class: 'hint', id: `${id}-hint` }, hint),
  );
}

/** The manifest picker, upload and hash field of the desired-state form. */
function ArtifactFields(props: {
  hash: string;
  manifests: readonly string[];
  nodes: ReadonlyMap<string, FleetNode>;
  token: string;
  onHash: (hash: string) => void;
  onError: (message: string) => void;
  onUnauthorized: () => void;
}) {
  const known = props.manifests.includes(props.hash);
  const upload = async (file: File): Promise<void> => {
    const { status, body } = await sendJson(props.token, 'PUT', '/v1/manifests', await file.text());
    if (status === 401) props.onUnauthorized();
    else if (status === 200) props.onHash((body as { artifact_hash: string }).artifact_hash);
    else props.onError(`The upload failed: ${errorText(status, body)}`);
  };
  return h(
    'div',
    { class: 'artifact' },
    field(
      'action-manifest',
      'Uploaded manifest',
      h(
        'select',
        {
          id: 'action-manifest',
          value: known ? props.hash : '',
          onChange: (e: Event) => props.onHash((e.target as HTMLSelectElement).value),
        },
        h('option', { value: '' }, 'choose, or paste a hash below'),
        props.manifests.map((m) => {
          const release = releaseOf(m, props.nodes.values());
          return h(
            'option',
            { value: m, key: m },
            `${shortHash(m)}${release ? ` (${release})` : ''}`,
          );
        }),
      ),
    ),
    field(
      'action-upload',
      'Upload a manifest',
      h('input', {
        id: 'action-upload',
        type: 'file',
        accept: 'application/json,.json',
        onChange: (e: Event) => {
          const file = (e.target as HTMLInputElement).files?.[0];
          if (file !== undefined) void upload(file);
        },
      }),
    ),
    field(
      'action-hash',
      'Artifact hash',
      h('input', {
        id: 'action-hash',
        type: 'text',
        spellcheck: false,
        autocomplete: 'off',
        placeholder: 'sha256:…',
        value: props.hash,
        onInput: (e: Event) => props.onHash((e.target as HTMLInputElement).value.trim()),
      }),
    ),
  );
}

/** Up to five ids in brackets after a count (`''` for none), with `…` when there are more. */
function sample(ids: readonly string[]): string {
  if (ids.length === 0) return '';
  return ` (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})`;
}

/** What an action's answer means for the dialog: signed out, done, or refused (back to edit). */
function settle(
  props: Pick<DialogProps, 'onUnauthorized'>,
  setStep: (s: Step) => void,
  status: number,
  body: unknown,
  done: () => string,
): void {
  if (status === 401) props.onUnauthorized();
  else if (status === 200) setStep({ step: 'done', message: done() });
  else setStep({ step: 'edit', error: `The control plane refused: ${errorText(status, body)}` });
}

/** The confirmation step of an action: what will happen, then Back or Confirm (once). */
function confirmView(
  step: Step,
  setStep: (s: Step) => void,
  confirm: () => Promise<void>,
  summary: ComponentChildren,
) {
  return h(
    'div',
    null,
    summary,
    h(
      'div',
      { class: 'buttons' },
      h(
        'button',
        { type: 'button', onClick: () => setStep({ step: 'edit', error: null }) },
        'Back',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          disabled: step.step === 'sending',
          onClick: () => void confirm(),
        },
        'Confirm',
      ),
    ),
  );
}

function DesiredForm(props: DialogProps & { step: Step; setStep: (s: Step) => void }) {
  const { cluster, step, setStep } = props;
  const [hash, setHash] = useState('');
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState('');
  const release = releaseOf(hash, props.nodes.values());
  const deadline = minutes.trim() === '' ? undefined : Number(minutes);
  const review = (): void => {
    if (!HASH.test(hash))
      setStep({ step: 'edit', error: 'Choose a manifest or paste a sha256: hash.' });
    else if (reason.trim() === '') setStep({ step: 'edit', error: 'A reason is required.' });
    else if (deadline !== undefined && !(Number.isInteger(deadline) && deadline > 0))
      setStep({ step: 'edit', error: 'The deadline is a whole number of minutes.' });
    else setStep({ step: 'confirm' });
  };
  const confirm = async (): Promise<void> => {
    setStep({ step: 'sending' });
    const { status, body } = await sendJson(
      props.token,
      'PUT',
      `/v1/clusters/${encodeURIComponent(cluster.cluster)}/desired`,
      JSON.stringify({
        artifact_hash: hash,
        reason: reason.trim(),
        ...(deadline === undefined ? {} : { deadline_seconds: deadline * 60 }),
      }),
    );
    settle(
      props,
      setStep,
      status,
      body,
      () => `${cluster.cluster} should now run ${shortHash(hash)}${versionOf(body)}.`,
    );
  };
  if (step.step === 'confirm' || step.step === 'sending')
    return confirmView(
      step,
      setStep,
      confirm,
      h(
        'p',
        { class: 'confirm' },
        `Set the desired state of ${cluster.cluster} to `,
        h('code', null, hash),
        release === null ? '' : ` (${release})`,
        `, replacing ${cluster.desired_hash === null ? 'none' : shortHash(cluster.desired_hash)}`,
        deadline === undefined ? '' : `, every node in sync within ${deadline} min`,
        `. Reason: “${reason.trim()}”.`,
      ),
    );
  return h(
    'form',
    {
      onSubmit: (e: Event) => {
        e.preventDefault();
        review();
      },
    },
    h(ArtifactFields, {
      hash,
      manifests: props.manifests,
      nodes: props.nodes,
      token: props.token,
      onHash: setHash,
      onError: (error: string) => setStep({ step: 'edit', error }),
      onUnauthorized: props.onUnauthorized,
    }),
    field(
      'action-reason',
      'Reason',
      h('textarea', {
        id: 'action-reason',
        'aria-required': 'true',
        rows: 2,
        maxLength: 1024,
        value: reason,
        onInput: (e: Event) => setReason((e.target as HTMLTextAreaElement).value),
      }),
    ),
    field(
      'action-deadline',
      'Deadline (minutes, optional)',
      h('input', {
        id: 'action-deadline',
        type: 'number',
        min: 1,
        step: 1,
        value: minutes,
        'aria-describedby': 'action-deadline-hint',
        onInput: (e: Event) => setMinutes((e.target as HTMLInputElement).value),
      }),
      'Nodes not in sync by then are reported (rollout deadline exceeded).',
    ),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Review')),
  );
}

function ExpectedForm(props: DialogProps & { step: Step; setStep: (s: Step) => void }) {
  const { cluster, step, setStep } = props;
  const current = [...props.nodes.values()]
    .filter((n) => n.cluster === cluster.cluster)
    .map((n) => n.node_id)
    .sort();
  const [text, setText] = useState(current.join('\n'));
  const ids = [...new Set(text.split(/[\s,]+/).filter((s) => s !== ''))].sort();
  const added = ids.filter((id) => !current.includes(id));
  const removed = current.filter((id) => !ids.includes(id));
  const confirm = async (): Promise<void> => {
    setStep({ step: 'sending' });
    const { status, body } = await sendJson(
      props.token,
      'PUT',
      `/v1/clusters/${encodeURIComponent(cluster.cluster)}/expected-nodes`,
      JSON.stringify({ nodes: ids }),
    );
    settle(props, setStep, status, body, () => `${cluster.cluster} expects ${ids.length} nodes.`);
  };
  if (step.step === 'confirm' || step.step === 'sending')
    return confirmView(
      step,
      setStep,
      confirm,
      h(
        'p',
        { class: 'confirm' },
        `Declare ${ids.length} expected nodes for ${cluster.cluster}: ${added.length} added${sample(added)}, ${removed.length} no longer expected${sample(removed)}.`,
      ),
    );
  return h(
    'form',
    {
      onSubmit: (e: Event) => {
        e.preventDefault();
        setStep({ step: 'confirm' });
      },
    },
    field(
      'action-nodes',
      'Expected nodes (one per line)',
      h('textarea', {
        id: 'action-nodes',
        rows: 6,
        spellcheck: false,
        value: text,
        onInput: (e: Event) => setText((e.target as HTMLTextAreaElement).value),
      }),
    ),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Review')),
  );
}

/**
 * The dialog of one action on one cluster (admin token only: the page shows no way to open it to
 * the read token, and the fleet API refuses that token's writes anyway).
 *
 * @public
 */
export function ActionDialog(props: DialogProps) {
  const [step, setStep] = useState<Step>({ step: 'edit', error: null });
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [props.kind, props.cluster.cluster]);
  const title =
    props.kind === 'desired'
      ? `Set the desired state of ${props.cluster.cluster}`
      : `Declare the expected nodes of ${props.cluster.cluster}`;
  return h(
    'div',
    { class: 'backdrop' },
    h(
      'div',
      {
        class: 'dialog',
        role: 'dialog',
        'aria-modal': 'true',
        'aria-labelledby': 'action-title',
        onKeyDown: (e: KeyboardEvent) => {
          if (e.key === 'Escape') props.onClose();
        },
      },
      h('h2', { id: 'action-title', tabIndex: -1, ref: heading }, title),
      step.step === 'done'
        ? [
            h('p', { role: 'status', key: 'done' }, step.message),
            h(
              'div',
              { class: 'buttons', key: 'close' },
              h('button', { type: 'button', class: 'primary', onClick: props.onClose }, 'Close'),
            ),
          ]
        : [
            props.kind === 'desired'
              ? h(DesiredForm, { ...props, step, setStep, key: 'form' })
              : h(ExpectedForm, { ...props, step, setStep, key: 'form' }),
            step.step === 'edit' && step.error !== null
              ? h('p', { class: 'error', role: 'alert', key: 'error' }, step.error)
              : null,
            step.step === 'edit'
              ? h(
                  'div',
                  { class: 'buttons', key: 'cancel' },
                  h('button', { type: 'button', onClick: props.onClose }, 'Cancel'),
                )
              : null,
          ],
    ),
  );
}
