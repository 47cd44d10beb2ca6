/**
 * A session's metric curves: one small chart per metric column, drawn with the Scalars
 * dashboard's building blocks (its `series` fetch, its model and the uPlot line chart).
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';

import type { DashboardApi } from '../../core/dashboard';
import { cancelFrame, scheduleFrame } from '../../core/frame';
import { useStore } from '../../core/store';
import { LineChart, type ChartHost } from '../../charts/lineChart';
import { useSeries } from '../scalars/cardData';
import { buildModel } from '../scalars/model';
import { metricRun, type Column } from './model';

const HEIGHT = 160;
const NO_LIMITS: [null, null] = [null, null];

function MetricChart({ api, session, column, color }: { api: DashboardApi; session: string; column: Column; color: string }): JSX.Element {
  const generation = useStore(api.data, (d) => d.generation);
  const dark = useStore(api.theme, (t) => t.dark);
  const run = metricRun(session, column.group);
  const series = useSeries(api.client, column.tag, [run], 'step', null, 400, generation, true);
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<LineChart | null>(null);

  useLayoutEffect(() => {
    if (!el.current) return undefined;
    const host: ChartHost = {
      onZoom: () => undefined,
      onReset: () => undefined,
      onWidth: () => undefined,
      tooltipSort: () => 'nearest',
      smoothingOn: () => false,
    };
    const instance = new LineChart(el.current, host, HEIGHT);
    chart.current = instance;
    return () => {
      cancelFrame(instance);
      instance.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => chart.current?.redraw(), [dark]);

  useEffect(() => {
    const instance = chart.current;
    if (!instance) return;
    const data = series.runs;
    scheduleFrame(instance, () => {
      const model = buildModel(data, {
        xAxis: 'step',
        smoothing: 0,
        logY: false,
        ignoreOutliers: false,
        groupBy: { kind: 'none' },
        band: 'none',
        showMembers: false,
        color: () => color,
        groupColor: () => color,
        xLimits: NO_LIMITS,
        yLimits: NO_LIMITS,
      });
      instance.update(model);
      if (el.current) el.current.dataset.points = String(model.pointsShown);
    });
  }, [series.version, color]);

  const empty = !series.runs.some((r) => r.columns.step.length > 0);
  return (
    <div class="hp-chart" data-testid="session-chart" data-tag={column.tag} data-run={run}>
      <div class="hp-chart__title" title={`${run} · ${column.tag}`}>
        {column.label}
      </div>
      <div class="hp-chart__plot" ref={el}>
        {empty ? (
          <div class="card__placeholder">
            {series.error ? `Could not load: ${series.error}` : series.pending ? 'Loading…' : 'No data'}
          </div>
        ) : null}
      </div>
    </div>
  );
}

export function SessionCharts(props: {
  api: DashboardApi;
  session: string;
  metrics: readonly Column[];
  color: string;
}): JSX.Element {
  const { api, session, metrics, color } = props;
  if (metrics.length === 0) {
    return (
      <div class="notice" data-testid="session-no-metrics">
        This session logged no metrics.
      </div>
    );
  }
  return (
    <div class="hp-charts" data-testid="session-charts" data-session={session}>
      {metrics.map((column) => (
        <MetricChart key={column.id} api={api} session={session} column={column} color={color} />
      ))}
    </div>
  );
}
