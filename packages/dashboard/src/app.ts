/**
 * The fleet dashboard page (Preact, no JSX so the repository's TypeScript settings apply as is).
 *
 * @packageDocumentation
 */
import { h, type ComponentChildren, type RefObject } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  EMPTY_VIEW,
  STATES,
  SseParser,
  applyEvent,
  applyLastSeen,
  clockOffset,
  formatPlace,
  nodeWhy,
  parsePlace,
  timelineRows,
  auditTarget,
  diffRows,
  fromSnapshot,
  releaseName,
  releaseOf,
  rolloutProgress,
  shortHash,
  sourceLink,
  visibleNodes,
  windowOf,
  type AuditEntry,
  type Cluster,
  type DashboardInfo,
  type FleetEvent,
  type FleetNode,
  type FleetView,
  type Filter,
  type LastSeenFrame,
  type NodeDiff,
  type NodeState,
  type Place,
  type Snapshot,
  type Sort,
  type SortKey,
} from './model.js';
import { ActionDialog, type ActionKind } from './actions.js';
import { HistoryPanel } from './history.js';
import { LABELS, StateBadge, ago, columnHeads, getJson, time } from './ui.js';

/** Where the admin token is kept (session storage only: gone when the tab closes). */
export const TOKEN_KEY = 'plumbline.adminToken';
const ROW_HEIGHT = 34;
/** The table's height before it is measured (it then fills the window, see style.css). */
const TABLE_HEIGHT = 480;

/** The place the URL names, kept in step with it (back and forward included). */
function usePlace(): [Place, (next: Place, push?: boolean) => void] {
  const [place, setPlace] = useState<Place>(() => parsePlace(location.hash));
  useEffect(() => {
    const onHash = (): void => setPlace(parsePlace(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const go = useCallback((next: Place, push = false) => {
    const url = `${location.pathname}${location.search}${formatPlace(next)}`;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    setPlace(next);
  }, []);
  return [place, go];
}

type Connection = 'connecting' | 'live' | 'disconnected';

interface StreamState {
  readonly view: FleetView;
  readonly connection: Connection;
  readonly loaded: boolean;
  /** The `dashboard` frame of the current connection (`null` before it). */
  readonly info: DashboardInfo | null;
  /** The control plane's clock minus the page's, in milliseconds. */
  readonly offset: number;
}

/** Opens the event stream with the token and feeds the view; reconnects with backoff. */
function useFleetStream(token: string | null, onUnauthorized: () => void): StreamState {
  const [view, setView] = useState<FleetView>(EMPTY_VIEW);
  const [info, setInfo] = useState<DashboardInfo | null>(null);
  const [offset, setOffset] = useState(0);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    if (token === null) return undefined;
    const abort = new AbortController();
    let lastEventId: string | null = null;
    let failures = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      setConnection('connecting');
      let retry = 2000;
      try {
        const response = await fetch('/v1/fleet/events', {
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'text/event-stream',
            ...(lastEventId === null ? {} : { 'last-event-id': lastEventId }),
          },
          cache: 'no-store',
          signal: abort.signal,
        });
        if (response.status === 401) {
          onUnauthorized();
          return;
        }
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
        const parser = new SseParser((message) => {
          if (message.event === 'snapshot') {
            setView(fromSnapshot(JSON.parse(message.data) as Snapshot));
            setLoaded(true);
          } else if (message.event === 'dashboard') {
            setInfo(JSON.parse(message.data) as DashboardInfo);
          } else if (message.event === 'manifest') {
            const { artifact_hash } = JSON.parse(message.data) as { artifact_hash: string };
            setInfo((i) =>
              i === null || i.manifests.includes(artifact_hash)
                ? i
                : { ...i, manifests: [...i.manifests, artifact_hash] },
            );
          } else if (message.event === 'last_seen') {
            const frame = JSON.parse(message.data) as LastSeenFrame;
            setOffset(clockOffset(frame.at, Date.now()));
            setView((v) => applyLastSeen(v, frame));
          } else {
            const event = JSON.parse(message.data) as FleetEvent;
            setView((v) => applyEvent(v, event));
          }
        });
        setConnection('live');
        failures = 0;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value);
          lastEventId = parser.lastEventId;
        }
        retry = parser.retry ?? retry;
      } catch {
        if (abort.signal.aborted) return;
      }
      if (abort.signal.aborted) return;
      setConnection('disconnected');
      failures++;
      timer = setTimeout(
        () => void run(),
        Math.min(30_000, retry * 2 ** Math.min(failures - 1, 4)),
      );
    };
    void run();
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [token]);
  return { view, connection, loaded, info, offset };
}

function Login({ error, onToken }: { error: string | null; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  const [local, setLocal] = useState<string | null>(null);
  const message = local ?? error;
  return h(
    'main',
    { class: 'login' },
    h('h1', null, 'Plumbline fleet'),
    h(
      'form',
      {
        onSubmit: (e: Event) => {
          e.preventDefault();
          const token = value.trim();
          if (token === '') {
            setLocal('Enter the admin token.');
            return;
          }
          setLocal(null);
          onToken(token);
        },
      },
      h('label', { for: 'token' }, 'Admin token'),
      h('input', {
        id: 'token',
        type: 'password',
        autocomplete: 'off',
        value,
        'aria-invalid': message === null ? 'false' : 'true',
        'aria-describedby': message === null ? undefined : 'login-error',
        onInput: (e: Event) => setValue((e.target as HTMLInputElement).value),
      }),
      h('button', { type: 'submit' }, 'Sign in'),
      message === null
        ? null
        : h('p', { id: 'login-error', class: 'error', role: 'alert' }, message),
    ),
    h(
      'p',
      { class: 'hint' },
      'The token is kept in this tab’s session storage only and sent as a bearer header.',
    ),
  );
}

function ClusterCard(props: {
  cluster: Cluster;
  now: number;
  active: boolean;
  /** The release name of the desired hash, when a node running it says. */
  release: string | null;
  onFilter: (cluster: string | undefined) => void;
  /** Opens an action dialog (absent for the read token: no controls). */
  onAction?: (kind: ActionKind) => void;
}) {
  const { cluster, now, onAction } = props;
  const progress = rolloutProgress(cluster, now);
  return h(
    'article',
    {
      class: `cluster${props.active ? ' active' : ''}`,
      'aria-labelledby': `cluster-${cluster.cluster}`,
    },
    h(
      'h3',
      { id: `cluster-${cluster.cluster}` },
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          'aria-pressed': props.active ? 'true' : 'false',
          title: props.active ? 'Show every cluster' : `Show only the nodes of ${cluster.cluster}`,
          onClick: () => props.onFilter(props.active ? undefined : cluster.cluster),
        },
        cluster.cluster,
      ),
    ),
    h(
      'p',
      null,
      'Desired ',
      h('code', { title: cluster.desired_hash ?? 'none' }, shortHash(cluster.desired_hash)),
      props.release === null ? null : h('span', { class: 'release' }, ` ${props.release}`),
    ),
    h(
      'table',
      { class: 'counts' },
      h('caption', { class: 'sr-only' }, `Nodes per state in ${cluster.cluster}`),
      h(
        'tbody',
        null,
        STATES.filter((s) => cluster.counts[s] > 0 || s === 'in_sync' || s === 'drift').map((s) =>
          h(
            'tr',
            { key: s },
            h('th', { scope: 'row' }, h(StateBadge, { state: s })),
            h('td', { 'data-state': s }, String(cluster.counts[s])),
          ),
        ),
      ),
    ),
    progress === null
      ? null
      : h(
          'div',
          { class: `rollout${progress.overdue ? ' overdue' : ''}` },
          h('label', null, `Rollout ${progress.done}/${progress.total} in sync, ${progress.label}`),
          h('progress', { max: Math.max(1, progress.total), value: progress.done }),
        ),
    onAction === undefined
      ? null
      : h(
          'div',
          { class: 'actions' },
          h(
            'button',
            { type: 'button', onClick: () => onAction('desired') },
            'Set desired state',
            h('span', { class: 'sr-only' }, ` of ${cluster.cluster}`),
          ),
          h(
            'button',
            { type: 'button', onClick: () => onAction('expected') },
            'Declare expected nodes',
            h('span', { class: 'sr-only' }, ` of ${cluster.cluster}`),
          ),
        ),
  );
}

const COLUMNS: readonly { key: SortKey | null; label: string }[] = [
  { key: 'node_id', label: 'Node' },
  { key: 'cluster', label: 'Cluster' },
  { key: 'state', label: 'State' },
  { key: 'since', label: 'Since' },
  { key: null, label: 'Reported' },
  { key: null, label: 'Desired' },
  { key: 'last_seen', label: 'Last seen' },
  { key: null, label: 'Release' },
  { key: null, label: 'Why' },
];

function ReleaseCell({ node }: { node: FleetNode }) {
  const text = releaseName(node.provenance);
  if (text === null) return h('td', null, '—');
  const href = sourceLink(node.provenance);
  return h(
    'td',
    null,
    href === null
      ? h('span', { title: node.provenance?.commit }, text)
      : h(
          'a',
          { href, rel: 'noopener noreferrer', target: '_blank', title: node.provenance?.commit },
          text,
        ),
  );
}

/** The column heads of the node table; a sortable column's head is a button. */
function sortHeads(sort: Sort, setSort: (sort: Sort) => void) {
  return COLUMNS.map((c) => {
    if (c.key === null) return h('th', { scope: 'col', key: c.label }, c.label);
    const key = c.key;
    const active = sort.key === key;
    return h(
      'th',
      {
        scope: 'col',
        key: c.label,
        'aria-sort': active ? (sort.descending ? 'descending' : 'ascending') : 'none',
      },
      h(
        'button',
        {
          type: 'button',
          class: 'sort',
          onClick: () =>
            setSort(active ? { key, descending: !sort.descending } : { key, descending: false }),
        },
        c.label,
        active ? (sort.descending ? ' ▼' : ' ▲') : '',
      ),
    );
  });
}

/** One row of the node table (`index`: its place among the rows, 0 first). */
function nodeRow(node: FleetNode, index: number, now: number, onOpen: (id: string) => void) {
  return h(
    'tr',
    {
      key: node.node_id,
      'data-node': node.node_id,
      class: `row-${node.state}`,
      'aria-rowindex': index + 2,
    },
    h(
      'th',
      { scope: 'row' },
      h(
        'button',
        { type: 'button', class: 'link', onClick: () => onOpen(node.node_id) },
        node.node_id,
      ),
    ),
    h('td', null, node.cluster),
    h('td', null, h(StateBadge, { state: node.state })),
    h('td', { title: time(node.since) }, ago(node.since, now)),
    h('td', null, h('code', { title: node.reported_hash ?? '' }, shortHash(node.reported_hash))),
    h('td', null, h('code', { title: node.desired_hash ?? '' }, shortHash(node.desired_hash))),
    h('td', { title: time(node.last_seen) }, ago(node.last_seen, now)),
    h(ReleaseCell, { node }),
    h('td', { class: 'why', title: nodeWhy(node) ?? '' }, nodeWhy(node) ?? '—'),
  );
}

/** The rendered rows `start` to `end` of `rows`, between spacers standing for the others. */
function tableBody(
  rows: readonly FleetNode[],
  rendered: { start: number; end: number },
  now: number,
  onOpen: (id: string) => void,
): ComponentChildren[] {
  const { start, end } = rendered;
  const spacer = (key: string, count: number) =>
    h('tr', { key, 'aria-hidden': 'true', style: { height: `${count * ROW_HEIGHT}px` } });
  return [
    ...(start > 0 ? [spacer('top', start)] : []),
    ...rows.slice(start, end).map((node, i) => nodeRow(node, start + i, now, onOpen)),
    ...(end < rows.length ? [spacer('bottom', rows.length - end)] : []),
  ];
}

/** The search box, the cluster and state filters, and how many nodes they leave. */
function NodeFilters(props: {
  filter: Filter;
  onFilter: (filter: Filter) => void;
  clusters: readonly string[];
  shown: number;
  total: number;
}) {
  const { filter, onFilter: setFilter } = props;
  return h(
    'div',
    { class: 'filters', role: 'search' },
    h('label', { for: 'filter-text' }, 'Search'),
    h('input', {
      id: 'filter-text',
      type: 'search',
      placeholder: 'node, cluster, hash, commit',
      value: filter.text ?? '',
      onInput: (e: Event) => setFilter({ ...filter, text: (e.target as HTMLInputElement).value }),
    }),
    h('label', { for: 'filter-cluster' }, 'Cluster'),
    h(
      'select',
      {
        id: 'filter-cluster',
        value: filter.cluster ?? '',
        onChange: (e: Event) => {
          const v = (e.target as HTMLSelectElement).value;
          const { cluster: _c, ...rest } = filter;
          setFilter(v === '' ? rest : { ...rest, cluster: v });
        },
      },
      h('option', { value: '' }, 'all'),
      props.clusters.map((c) => h('option', { value: c, key: c }, c)),
    ),
    h('label', { for: 'filter-state' }, 'State'),
    h(
      'select',
      {
        id: 'filter-state',
        value: filter.state ?? '',
        onChange: (e: Event) => {
          const v = (e.target as HTMLSelectElement).value as NodeState | '';
          const { state: _s, ...rest } = filter;
          setFilter(v === '' ? rest : { ...rest, state: v });
        },
      },
      h('option', { value: '' }, 'all'),
      STATES.map((s) => h('option', { value: s, key: s }, LABELS[s])),
    ),
    h('span', { class: 'count', 'aria-live': 'polite' }, `${props.shown} of ${props.total} nodes`),
  );
}

/** The height of the scrolled element, followed as it is resized. */
function useScrollerHeight(): [RefObject<HTMLDivElement>, number] {
  const [height, setHeight] = useState(TABLE_HEIGHT);
  const scroller = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = scroller.current;
    if (el === null || typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight || TABLE_HEIGHT));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [scroller, height];
}

function NodeTable(props: {
  view: FleetView;
  now: number;
  filter: Filter;
  onFilter: (filter: Filter) => void;
  onOpen: (id: string) => void;
}) {
  const [sort, setSort] = useState<Sort>({ key: 'state', descending: false });
  const { filter } = props;
  const [scrollTop, setScrollTop] = useState(0);
  const [scroller, height] = useScrollerHeight();
  const rows = useMemo(
    () => visibleNodes(props.view.nodes.values(), filter, sort),
    [props.view.nodes, filter, sort],
  );
  const rendered = windowOf({ total: rows.length, rowHeight: ROW_HEIGHT, height, scrollTop });
  return h(
    'section',
    { 'aria-labelledby': 'nodes-title' },
    h('h2', { id: 'nodes-title', tabIndex: -1 }, 'Nodes'),
    h(NodeFilters, {
      filter,
      onFilter: props.onFilter,
      clusters: [...props.view.clusters.keys()].sort(),
      shown: rows.length,
      total: props.view.nodes.size,
    }),
    h(
      'div',
      {
        class: 'table-scroll',
        ref: scroller,
        tabIndex: 0,
        'aria-label': 'Node table, scrollable',
        onScroll: (e: Event) => setScrollTop((e.currentTarget as HTMLElement).scrollTop),
      },
      h(
        'table',
        { class: 'nodes', 'aria-rowcount': rows.length + 1 },
        h('caption', { class: 'sr-only' }, 'Nodes of the fleet'),
        h(
          'colgroup',
          null,
          COLUMNS.map((c) => h('col', { key: c.label, class: `col-${c.label.replace(' ', '-')}` })),
        ),
        h('thead', null, h('tr', { 'aria-rowindex': 1 }, sortHeads(sort, setSort))),
        h('tbody', null, tableBody(rows, rendered, props.now, props.onOpen)),
      ),
    ),
  );
}

type DiffState =
  | { readonly status: 'loading' }
  | { readonly status: 'ok'; readonly diff: NodeDiff }
  | { readonly status: 'unknown'; readonly missing: readonly (string | null)[] }
  | { readonly status: 'error'; readonly message: string };

const KIND_LABELS = {
  changed: 'content differs',
  extra: 'only on the node',
  missing: 'missing on the node',
} as const;

/** The per-file diff of a node, fetched when its hashes change or their manifests arrive. */
function FileDiff(props: {
  node: FleetNode;
  token: string;
  manifests: readonly string[];
  onUnauthorized: () => void;
}) {
  const { node, token, onUnauthorized } = props;
  const same = node.reported_hash !== null && node.reported_hash === node.desired_hash;
  const missing = [node.desired_hash, node.reported_hash].filter(
    (h): h is string => h !== null && !props.manifests.includes(h),
  );
  const ready = !same && node.reported_hash !== null && node.desired_hash !== null;
  const known = missing.length === 0;
  const [state, setState] = useState<DiffState>({ status: 'loading' });
  useEffect(() => {
    if (!ready || !known) return undefined;
    const abort = new AbortController();
    setState({ status: 'loading' });
    getJson(token, `/v1/fleet/nodes/${encodeURIComponent(node.node_id)}/diff`, abort.signal).then(
      ({ status, body }) => {
        if (status === 401) onUnauthorized();
        else if (status === 200) setState({ status: 'ok', diff: body as NodeDiff });
        else {
          const error = (body as { error?: { code?: string; details?: { missing?: [] } } } | null)
            ?.error;
          // A manifest dropped from the control plane's catalog since the page learned of it.
          if (error?.code === 'PLB_DASHBOARD_MANIFEST_UNKNOWN')
            setState({ status: 'unknown', missing: error.details?.missing ?? [] });
          else setState({ status: 'error', message: `HTTP ${status} ${error?.code ?? ''}` });
        }
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setState({ status: 'error', message: String(error) });
      },
    );
    return () => abort.abort();
  }, [node.node_id, node.reported_hash, node.desired_hash, token, ready, known]);
  const title = h('h3', { id: 'files-title' }, 'Files');
  if (node.reported_hash === null || node.desired_hash === null)
    return h('div', null, title, h('p', null, 'The node or its cluster has no artifact hash.'));
  if (same) return h('div', null, title, h('p', null, 'The node runs the desired artifact.'));
  const unknown = known && state.status === 'unknown' ? state.missing : missing;
  if (!known || state.status === 'unknown')
    return h(
      'div',
      null,
      title,
      h(
        'p',
        { class: 'upload-hint' },
        'Upload manifests to see files: the control plane does not know the manifest of ',
        unknown.map((m, i) => [
          i === 0 ? '' : ', ',
          h('code', { key: String(m), title: m ?? '' }, shortHash(m)),
        ]),
        ' (',
        h('code', null, 'PUT /v1/manifests'),
        ', for example ',
        h('code', null, 'plumbline manifest'),
        ' output).',
      ),
    );
  if (state.status === 'loading')
    return h('div', null, title, h('p', null, 'Loading the file diff…'));
  if (state.status === 'error')
    return h('div', null, title, h('p', null, `The file diff failed: ${state.message}`));
  const rows = diffRows(state.diff);
  return h(
    'div',
    null,
    title,
    h(
      'table',
      { class: 'files', 'aria-labelledby': 'files-title' },
      h(
        'caption',
        null,
        `${rows.length === 1 ? '1 file differs' : `${rows.length} files differ`} between what ${node.node_id} runs and what it should run; ${state.diff.unchanged} unchanged${state.diff.truncated ? ' (list cut)' : ''}.`,
      ),
      columnHeads('File', 'Change', 'Should run', 'Runs'),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { key: r.path, 'data-file': r.path, class: `file-${r.kind}` },
            h('th', { scope: 'row' }, h('code', null, r.path)),
            h('td', null, KIND_LABELS[r.kind]),
            h('td', null, h('code', { title: r.desired ?? '' }, shortHash(r.desired))),
            h('td', null, h('code', { title: r.reported ?? '' }, shortHash(r.reported))),
          ),
        ),
      ),
    ),
  );
}

/** Recent audit events, when the control plane has an audit log (a note otherwise). */
function AuditPanel(props: {
  token: string;
  latest: string | undefined;
  now: number;
  enabled: boolean;
  onUnauthorized: () => void;
}) {
  const { token, latest, onUnauthorized, enabled } = props;
  const [events, setEvents] = useState<readonly AuditEntry[] | null>(null);
  useEffect(() => {
    if (!enabled) return undefined;
    const abort = new AbortController();
    // Audit writes follow the events that cause them: wait a moment before reading the log.
    const timer = setTimeout(() => {
      getJson(token, '/v1/audit/recent?limit=20', abort.signal).then(
        ({ status, body }) => {
          if (status === 401) onUnauthorized();
          else if (status === 200 && Array.isArray((body as { events?: unknown } | null)?.events))
            setEvents((body as { events: AuditEntry[] }).events);
          else setEvents(null);
        },
        () => undefined,
      );
    }, 300);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [token, latest, enabled]);
  if (enabled && events === null) return null;
  return h(
    'section',
    { 'aria-labelledby': 'audit-title' },
    h('h2', { id: 'audit-title' }, 'Recent audit events'),
    events === null || !enabled
      ? h(
          'p',
          { class: 'audit-off' },
          'No audit log configured: start the control plane with ',
          h('code', null, '--audit-log'),
          ' to list who did what here.',
        )
      : events.length === 0
        ? h('p', null, 'The audit log has no events yet.')
        : h(
            'table',
            { class: 'audit' },
            h('caption', { class: 'sr-only' }, 'Recent audit events, newest first'),
            columnHeads('When', 'Event', 'Outcome', 'Actor', 'About', 'Reason'),
            h(
              'tbody',
              null,
              events.map((e) =>
                h(
                  'tr',
                  { key: e.id },
                  h('td', { title: time(e.time) }, ago(e.time, props.now)),
                  h('th', { scope: 'row' }, e.type),
                  h('td', null, e.outcome),
                  h('td', null, `${e.actor.type} ${e.actor.id}`),
                  h('td', null, auditTarget(e)),
                  h('td', null, e.reason ?? '—'),
                ),
              ),
            ),
          ),
  );
}

/** A hash with the release name people use for it, when known. */
function HashName({ hash, release }: { hash: string | null; release: string | null }) {
  return h(
    'span',
    null,
    h('code', null, hash ?? '—'),
    release === null ? null : h('span', { class: 'release' }, ` (${release})`),
  );
}

function NodeDetail(props: {
  node: FleetNode;
  nodes: ReadonlyMap<string, FleetNode>;
  manifests: readonly string[];
  timeline: readonly FleetEvent[];
  now: number;
  token: string;
  onUnauthorized: () => void;
  onClose: () => void;
}) {
  const { node } = props;
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), [node.node_id]);
  const p = node.provenance;
  const href = sourceLink(p);
  const field = (label: string, value: ComponentChildren) => [
    h('dt', { key: `${label}-t` }, label),
    h('dd', { key: `${label}-d` }, value),
  ];
  return h(
    'section',
    {
      class: 'detail',
      'aria-labelledby': 'detail-title',
      onKeyDown: (e: KeyboardEvent) => {
        if (e.key === 'Escape') props.onClose();
      },
    },
    h(
      'div',
      { class: 'detail-head' },
      h('h2', { id: 'detail-title', tabIndex: -1, ref }, `Node ${node.node_id}`),
      h('button', { type: 'button', onClick: props.onClose }, 'Close'),
    ),
    h(
      'dl',
      null,
      field('State', [h(StateBadge, { state: node.state }), ` since ${time(node.since)}`]),
      field('Why', nodeWhy(node) ?? '—'),
      field('Cluster', node.cluster),
      field('Reported', h(HashName, { hash: node.reported_hash, release: releaseName(p) })),
      field(
        'Desired',
        h(HashName, {
          hash: node.desired_hash,
          release: releaseOf(node.desired_hash, props.nodes.values()),
        }),
      ),
      field('Instance', node.instance_id ?? '—'),
      field('Last seen', `${time(node.last_seen)} (${ago(node.last_seen, props.now)})`),
    ),
    h('h3', null, 'Provenance'),
    p === null
      ? h('p', null, 'The node reported no provenance.')
      : h(
          'dl',
          { class: 'provenance' },
          field(
            'Commit',
            p.commit === undefined
              ? '—'
              : href === null
                ? h('code', null, p.commit)
                : h(
                    'a',
                    { href, rel: 'noopener noreferrer', target: '_blank' },
                    h('code', null, p.commit),
                  ),
          ),
          field('Source', p.source ?? '—'),
          field('Ref', p.ref ?? '—'),
          field('Built', p.build_timestamp === undefined ? '—' : time(p.build_timestamp)),
          field('Builder', p.builder === undefined ? '—' : `${p.builder.id} ${p.builder.version}`),
        ),
    h(FileDiff, {
      node,
      token: props.token,
      manifests: props.manifests,
      onUnauthorized: props.onUnauthorized,
    }),
    h('h3', null, 'Timeline'),
    props.timeline.length === 0
      ? h('p', null, 'No transitions since the dashboard connected.')
      : h(
          'table',
          { class: 'timeline' },
          h('caption', { class: 'sr-only' }, `Transitions of ${node.node_id}, newest first`),
          columnHeads('When', 'Event', 'From', 'To', 'Reported', 'By', 'Why'),
          h(
            'tbody',
            null,
            timelineRows(props.timeline).map((e) =>
              h(
                'tr',
                { key: e.id },
                h('td', null, time(e.at)),
                h('td', null, e.type),
                h('td', null, e.from === undefined ? '—' : h(StateBadge, { state: e.from })),
                h('td', null, e.state === undefined ? '—' : h(StateBadge, { state: e.state })),
                h('td', null, h('code', null, shortHash(e.reported_hash ?? e.artifact_hash))),
                h('td', null, typeof e.actor === 'string' ? e.actor : '—'),
                h('td', null, typeof e.reason === 'string' ? e.reason : '—'),
              ),
            ),
          ),
        ),
  );
}

/** The cluster cards, in name order. */
function ClusterCards(props: {
  view: FleetView;
  now: number;
  active: string | undefined;
  onFilter: (cluster: string | undefined) => void;
  /** Opens an action dialog (absent for the read token: no controls). */
  onAction?: (cluster: string, kind: ActionKind) => void;
}) {
  const { view, onAction } = props;
  const clusters = [...view.clusters.values()].sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  return h(
    'section',
    { 'aria-labelledby': 'clusters-title' },
    h('h2', { id: 'clusters-title' }, 'Clusters'),
    clusters.length === 0
      ? h('p', null, 'No clusters yet.')
      : h(
          'div',
          { class: 'clusters' },
          clusters.map((c) =>
            h(ClusterCard, {
              cluster: c,
              now: props.now,
              key: c.cluster,
              active: props.active === c.cluster,
              release: releaseOf(c.desired_hash, view.nodes.values()),
              onFilter: props.onFilter,
              ...(onAction === undefined
                ? {}
                : { onAction: (kind: ActionKind) => onAction(c.cluster, kind) }),
            }),
          ),
        ),
  );
}

/** The history of the cluster the table shows, and the open action dialog (admin token only). */
function ClusterPanels(props: {
  view: FleetView;
  info: DashboardInfo;
  token: string;
  cluster: string | undefined;
  action: { cluster: string; kind: ActionKind } | null;
  onUnauthorized: () => void;
  onClose: () => void;
}) {
  const { view, info, action, cluster } = props;
  const target = action === null ? undefined : view.clusters.get(action.cluster);
  return h(
    'div',
    null,
    cluster === undefined
      ? null
      : h(HistoryPanel, {
          key: `history-${cluster}`,
          cluster,
          token: props.token,
          latest: view.recent[0]?.id,
          onUnauthorized: props.onUnauthorized,
        }),
    action === null || target === undefined || info.role === 'read'
      ? null
      : h(ActionDialog, {
          key: 'action',
          cluster: target,
          kind: action.kind,
          token: props.token,
          manifests: info.manifests,
          nodes: view.nodes,
          onUnauthorized: props.onUnauthorized,
          onClose: props.onClose,
        }),
  );
}

/** A node's timeline with its cluster's desired-state changes (who, and why), oldest first. */
function nodeTimeline(view: FleetView, node: FleetNode): FleetEvent[] {
  const own = view.timelines.get(node.node_id) ?? [];
  const cluster = view.recent.filter(
    (e) =>
      e.node_id === undefined && e.cluster === node.cluster && e.type === 'desired_state.changed',
  );
  return [...own, ...cluster].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/** The page's clock, ticking every second (ages and durations move without events). */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

/** Focus back on a node's button once its detail closes (or the table's heading when it scrolled away). */
function returnFocus(id: string | null): void {
  setTimeout(() => {
    const button =
      id === null
        ? null
        : document.querySelector<HTMLElement>(`tr[data-node="${CSS.escape(id)}"] button`);
    (button ?? document.getElementById('nodes-title'))?.focus();
  }, 0);
}

/** The page's header: its title, the stream's connection, and signing out. */
function AppHeader(props: { connection: Connection; onSignOut: () => void }) {
  const { connection } = props;
  return h(
    'header',
    null,
    h('h1', null, 'Plumbline fleet'),
    h(
      'p',
      { class: `connection ${connection}`, role: 'status', 'aria-live': 'polite' },
      connection === 'live'
        ? 'Live'
        : connection === 'connecting'
          ? 'Connecting…'
          : 'Disconnected: reconnecting…',
    ),
    h('button', { type: 'button', onClick: props.onSignOut }, 'Sign out'),
  );
}

/** An action dialog: its cluster and what it does. */
type OpenAction = { readonly cluster: string; readonly kind: ActionKind };

/** The live fleet once loaded: cluster cards, the node table, a node's detail, panels, audit. */
function FleetConsole(props: {
  view: FleetView;
  info: DashboardInfo;
  token: string;
  now: number;
  place: Place;
  go: (next: Place, push?: boolean) => void;
  /** The open action dialog (kept by the page, so that a reconnection does not close it). */
  action: OpenAction | null;
  setAction: (action: OpenAction | null) => void;
  onUnauthorized: () => void;
}) {
  const { view, info, token, now, place, go, action, setAction, onUnauthorized } = props;
  const selected = place.node ?? null;
  const setSelected = (id: string | null): void =>
    go(id === null ? { filter: place.filter } : { node: id, filter: place.filter }, true);
  const node = selected === null ? undefined : view.nodes.get(selected);
  const close = (): void => {
    setSelected(null);
    returnFocus(selected);
  };
  const withNode = place.node === undefined ? {} : { node: place.node };
  return [
    h(ClusterCards, {
      key: 'clusters',
      view,
      now,
      active: place.filter.cluster,
      onFilter: (cluster: string | undefined) => {
        const { cluster: _c, ...rest } = place.filter;
        go({ ...withNode, filter: cluster === undefined ? rest : { ...rest, cluster } });
      },
      ...(info.role === 'read'
        ? {}
        : { onAction: (cluster: string, kind: ActionKind) => setAction({ cluster, kind }) }),
    }),
    h(NodeTable, {
      view,
      now,
      filter: place.filter,
      onFilter: (filter: Filter) => go({ ...withNode, filter }),
      onOpen: setSelected,
      key: 'nodes',
    }),
    node === undefined
      ? null
      : h(NodeDetail, {
          key: 'detail',
          node,
          nodes: view.nodes,
          now,
          manifests: info.manifests,
          timeline: nodeTimeline(view, node),
          token,
          onUnauthorized,
          onClose: close,
        }),
    h(ClusterPanels, {
      key: 'cluster-panels',
      view,
      info,
      token,
      cluster: place.filter.cluster,
      action,
      onUnauthorized,
      onClose: () => setAction(null),
    }),
    h(AuditPanel, {
      key: 'audit',
      token,
      latest: view.recent[0]?.id,
      now,
      enabled: info.audit_log,
      onUnauthorized,
    }),
  ];
}

/**
 * The dashboard: the login form until a token is known, then the live fleet.
 *
 * @example
 * ```ts
 * render(h(App, null), document.getElementById('app')!);
 * ```
 * @public
 */
export function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [error, setError] = useState<string | null>(null);
  const [place, go] = usePlace();
  const [action, setAction] = useState<OpenAction | null>(null);
  const now = useNow();
  const unauthorized = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setError('The control plane refused this admin token.');
  }, []);
  const { view, connection, loaded, info, offset } = useFleetStream(token, unauthorized);
  if (token === null) {
    return h(Login, {
      error,
      onToken: (t: string) => {
        sessionStorage.setItem(TOKEN_KEY, t);
        setError(null);
        setToken(t);
      },
    });
  }
  const signOut = (): void => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
  };
  return h(
    'div',
    { class: 'app' },
    h(AppHeader, { connection, onSignOut: signOut }),
    h(
      'main',
      null,
      !loaded || info === null
        ? h('p', null, 'Loading the fleet…')
        : // Ages count on the control plane's clock (the page's may be off).
          h(FleetConsole, {
            view,
            info,
            token,
            now: now + offset,
            place,
            go,
            action,
            setAction,
            onUnauthorized: unauthorized,
          }),
    ),
  );
}
