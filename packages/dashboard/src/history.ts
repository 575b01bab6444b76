/**
 * A cluster's history: node states over the last hours as a stacked SVG chart, the drifts and
 * how long they lasted, and who changed the cluster and why.
 *
 * @packageDocumentation
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import {
  formatDuration,
  historyBands,
  peakDriftLine,
  shortHash,
  type ClusterHistory,
} from './model.js';
import { LABELS, columnHeads, getJson, time } from './ui.js';

const WIDTH = 600;
const HEIGHT = 120;

/** The colours of the chart's bands (the badges' colours). */
const FILL: Readonly<Record<string, string>> = {
  in_sync: '#0f6b2f',
  drift: '#a4161a',
  rejected: '#a4161a',
  pending: '#1d4f91',
  awaiting_report: '#1d4f91',
  reload_pending: '#8a4b00',
  probe_failing: '#8a4b00',
  stale: '#8a4b00',
};

/**
 * The history section of one cluster, fetched again whenever the fleet changes.
 *
 * @public
 */
export function HistoryPanel(props: {
  cluster: string;
  token: string;
  /** The id of the newest fleet event (a change refetches the history). */
  latest: string | undefined;
  onUnauthorized: () => void;
}) {
  const { cluster, token, latest, onUnauthorized } = props;
  const [history, setHistory] = useState<ClusterHistory | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    // Fleet events come in bursts: fetch once they settle. A request already sent is not
    // aborted (that would be a failed request in the browser); its answer is dropped if stale.
    let stale = false;
    const timer = setTimeout(() => {
      getJson(
        token,
        `/v1/clusters/${encodeURIComponent(cluster)}/history?hours=6`,
        new AbortController().signal,
      ).then(
        ({ status, body }) => {
          if (stale) return;
          if (status === 401) onUnauthorized();
          else if (status === 200) {
            setHistory(body as ClusterHistory);
            setFailed(null);
          } else setFailed(`HTTP ${status}`);
        },
        () => undefined,
      );
    }, 250);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [cluster, token, latest]);
  return h(
    'section',
    { class: 'history', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, `History of ${cluster}`),
    failed !== null ? h('p', null, `The history failed: ${failed}`) : null,
    history === null
      ? h('p', null, 'Loading the history…')
      : [h(HistoryChart, { history, key: 'chart' }), h(HistoryTables, { history, key: 'tables' })],
  );
}

/** The stacked chart of node states, with the peak-drift line and a text alternative. */
function HistoryChart({ history }: { history: ClusterHistory }) {
  const cluster = history.cluster;
  const bands = historyBands(history, WIDTH, HEIGHT);
  return h(
    'figure',
    null,
    h(
      'svg',
      {
        viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
        preserveAspectRatio: 'none',
        role: 'img',
        'aria-labelledby': 'history-caption',
        class: 'chart',
      },
      bands.map((b) =>
        h('polygon', {
          key: b.state,
          points: b.points,
          fill: FILL[b.state] ?? '#4a5260',
          'data-state': b.state,
        }),
      ),
      h('polyline', {
        class: 'peak-drift',
        points: peakDriftLine(history, WIDTH, HEIGHT),
        fill: 'none',
        stroke: '#a4161a',
        'stroke-width': 2,
        'stroke-dasharray': '4 2',
        'vector-effect': 'non-scaling-stroke',
        'data-max': String(Math.max(0, ...history.samples.map((s) => s.peak_drift))),
      }),
    ),
    h(
      'figcaption',
      { id: 'history-caption' },
      `Nodes of ${cluster} per state from ${time(history.from)} to ${time(history.to)}: `,
      bands.length === 0
        ? 'no nodes.'
        : bands.map((b, i) =>
            h(
              'span',
              { key: b.state, class: `legend state-${b.state}` },
              `${i === 0 ? '' : ', '}${LABELS[b.state]}`,
            ),
          ),
      '; dashed: the most nodes drifting at once',
      history.truncated ? ' (older changes were dropped: the start is approximate)' : '',
    ),
  );
}

/** The drifts and the desired-state changes of a history. */
function HistoryTables({ history }: { history: ClusterHistory }) {
  return h(
    'div',
    null,
    history.drifts.length === 0
      ? h('p', { key: 'no-drifts' }, 'No drift in this window.')
      : h(
          'table',
          { class: 'drifts', key: 'drifts' },
          h('caption', null, 'Drifts, newest first'),
          columnHeads('Node', 'Since', 'Until', 'Lasted'),
          h(
            'tbody',
            null,
            history.drifts.map((d) =>
              h(
                'tr',
                { key: `${d.node_id}-${d.since}`, 'data-node': d.node_id },
                h('th', { scope: 'row' }, d.node_id),
                h('td', null, time(d.since)),
                h('td', null, d.until === null ? 'still drifting' : time(d.until)),
                h('td', null, formatDuration(d.duration_ms)),
              ),
            ),
          ),
        ),
    history.changes.length === 0
      ? null
      : h(
          'table',
          { class: 'changes', key: 'changes' },
          h('caption', null, 'Changes of the desired state, newest first'),
          columnHeads('When', 'Desired', 'By', 'Reason'),
          h(
            'tbody',
            null,
            history.changes.map((c) =>
              h(
                'tr',
                { key: c.version },
                h('td', null, time(c.changed_at)),
                h('td', null, h('code', { title: c.artifact_hash }, shortHash(c.artifact_hash))),
                h('td', null, c.actor),
                h('td', null, c.reason),
              ),
            ),
          ),
        ),
  );
}
