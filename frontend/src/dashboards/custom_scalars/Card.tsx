/**
 * One custom-scalars chart: the scalars dashboard's line chart (smoothing, x axis, log y,
 * tooltips, box zoom) over every (run, tag) the chart's regexes match, or each run's margin
 * band. Zooming narrows the view of the fetched data (reduced to ~1,000 points per series).
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl, type XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { cancelFrame, scheduleFrame } from '../../core/frame';
import type { TooltipSort } from '../../core/settings';
import { useJson } from '../../core/useJson';
import { LineChart, type ChartHost } from '../../charts/lineChart';
import type { Smoother } from '../../charts/smoothing';
import { FitButton, LogYButton, ZoomBadge } from '../../components/CardParts';
import { buildModel } from '../scalars/model';
import {
  chartRegexes,
  decodeAnswer,
  marginSeries,
  multilineSeries,
  type Chart,
  type SeriesAnswer,
} from './model';

export interface CustomLook {
  xAxis: XAxis;
  smoothing: number;
  smoother: Smoother;
  ignoreOutliers: boolean;
  tooltipSort: TooltipSort;
  colorsVersion: number;
  dark: boolean;
}

type Limits = { x: [number | null, number | null]; y: [number | null, number | null] };
const NO_LIMITS: Limits = { x: [null, null], y: [null, null] };
const HEIGHT = 236;
const BUCKETS = 1000;

export function CustomCard({
  api,
  chart,
  runs,
  look,
}: {
  api: DashboardApi;
  chart: Chart;
  runs: string[];
  look: CustomLook;
}): JSX.Element {
  const chartRef = useRef<HTMLDivElement>(null);
  const instance = useRef<LineChart | null>(null);
  const [limits, setLimits] = useState<Limits>(NO_LIMITS);
  const [logY, setLogY] = useState(false);
  const kind = chart.margin ? 'margin' : 'multiline';
  const regexes = chartRegexes(chart);
  const body = runs.length && regexes.length ? { regexes, runs, buckets: BUCKETS, x: look.xAxis } : null;
  const state = useJson<SeriesAnswer>(api, body ? pluginUrl('custom_scalars', 'series') : null, body ?? undefined);
  const series = useMemo(() => {
    if (!state.data) return [];
    const decoded = decodeAnswer(state.data);
    return chart.margin ? marginSeries(decoded, runs, chart.margin.series ?? []) : multilineSeries(decoded, runs);
  }, [state.data, runs.join('\u0000'), kind]);
  const invalid = (state.data?.regexes ?? [])
    .map((verdict, i) => ({ verdict, regex: regexes[i] ?? '' }))
    .filter(({ verdict }) => !verdict.regex_valid);

  const hostLook = useRef(look);
  hostLook.current = look;
  useEffect(() => setLimits(NO_LIMITS), [look.xAxis, logY]);

  useLayoutEffect(() => {
    const el = chartRef.current;
    if (!el) return undefined;
    const host: ChartHost = {
      onZoom: (x, y) => setLimits({ x, y: y ?? [null, null] }),
      onReset: () => setLimits(NO_LIMITS),
      onWidth: () => undefined,
      tooltipSort: () => hostLook.current.tooltipSort,
      smoothingOn: () => hostLook.current.smoothing > 0,
    };
    const created = new LineChart(el, host, HEIGHT);
    instance.current = created;
    return () => {
      cancelFrame(created);
      created.destroy();
      instance.current = null;
    };
  }, []);
  useEffect(() => instance.current?.redraw(), [look.dark]);

  useEffect(() => {
    const chartInstance = instance.current;
    if (!chartInstance) return;
    scheduleFrame(chartInstance, () => {
      const model = buildModel(series, {
        xAxis: look.xAxis,
        smoothing: look.smoothing,
        smoother: look.smoother,
        logY,
        ignoreOutliers: look.ignoreOutliers,
        groupBy: { kind: 'none' },
        band: 'none',
        showMembers: false,
        color: (name) => api.colors.get(name),
        groupColor: (key) => api.colors.get(key),
        xLimits: limits.x,
        yLimits: limits.y,
      });
      chartInstance.update(model);
      const el = chartRef.current;
      if (el) {
        el.dataset.series = String(model.hover.length);
        el.dataset.bands = String(model.lines.filter((l) => l.band).length);
        el.dataset.points = String(model.pointsShown);
      }
    });
  }, [series, look.xAxis, look.smoothing, look.smoother, look.ignoreOutliers, look.colorsVersion, logY, limits]);

  const zoomed = limits.x.some((b) => b !== null) || limits.y.some((b) => b !== null);
  const tags = chart.margin
    ? (chart.margin.series ?? []).map((s) => `${s.value} [${s.lower}, ${s.upper}]`)
    : (chart.multiline?.tag ?? []);
  return (
    <div class="card cs-card" data-testid="cs-card" data-title={chart.title} data-kind={kind}>
      <div class="card__head">
        <div class="card__titles">
          <div class="card__title" title={chart.title} data-testid="card-title">
            {chart.title || 'untitled'}
          </div>
          <div class="card__description" title={tags.join('\n')}>
            {kind === 'margin' ? 'margin: ' : ''}
            {tags.join(', ')}
          </div>
          <div class="card__badges" hidden={!(logY || zoomed)}>
            {logY ? <span class="badge">log</span> : null}
            {zoomed ? <ZoomBadge /> : null}
          </div>
        </div>
        <div class="card__actions">
          <LogYButton on={logY} onToggle={() => setLogY(!logY)} />
          <FitButton onFit={() => setLimits(NO_LIMITS)} />
        </div>
      </div>
      {invalid.length ? (
        <div class="cs-invalid" data-testid="cs-invalid">
          {invalid.map(({ verdict, regex }) => (
            <div key={regex}>
              Invalid regex <code>{regex}</code>
              {verdict.error ? `: ${verdict.error}` : ''}
            </div>
          ))}
        </div>
      ) : null}
      <div class="card__chart" data-testid="chart" ref={chartRef}>
        {series.length === 0 ? (
          <div class="card__placeholder">
            {state.error
              ? `Could not load: ${state.error}`
              : state.pending
                ? 'Loading…'
                : runs.length === 0
                  ? 'No run selected'
                  : 'No selected run has these tags'}
          </div>
        ) : null}
      </div>
      <div class="card__foot">
        <span data-testid="cs-matches">
          {series.length ? `${series.length} series` : ''}
          {state.data?.truncated ? ' (more matched: narrow the regex)' : ''}
        </span>
        {state.error && series.length ? <span class="card__error">{state.error}</span> : null}
        {state.pending ? <span class="card__loading" role="status" aria-label="Loading" /> : null}
      </div>
    </div>
  );
}
