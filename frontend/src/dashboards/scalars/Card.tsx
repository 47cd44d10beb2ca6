/** One tag's card: header with actions, the chart, and what the chart shows of the data. */
import type { JSX } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

import type { XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { formatDuration, formatStep, formatWallTime } from '../../core/format';
import { scheduleFrame, cancelFrame } from '../../core/frame';
import type { TooltipSort } from '../../core/settings';
import { toggleIn, type Band } from '../../core/state';
import { useStore } from '../../core/store';
import { useVisible } from '../../core/visible';
import { LineChart, type ChartHost, type HoverLine } from '../../charts/lineChart';
import type { Smoother } from '../../charts/smoothing';
import { CollapseIcon, ExpandIcon, PinIcon, RulerIcon } from '../../components/icons';
import { CardDescription, FitButton, LogYButton, ZoomBadge } from '../../components/CardParts';
import { useSeries } from './cardData';
import { DataTable } from './DataTable';
import { nextSelection, snapX, type StepSelection } from './dataTable';
import { linkedSelection, selectionSettings } from './selection';
import { DownloadMenu } from './DownloadMenu';
import { LimitsForm, NO_LIMITS, type Limits } from './LimitsForm';
import { buildModel, stepRange, type CompiledGroupBy, type RunData } from './model';
import { CardHealthBadge } from '../../health/Badges';
import { levelColor } from '../../health/colors';
import { cardFlags, cardMarkers, summarize } from '../../health/model';
import { openHealth } from '../../health/navigate';
import { healthStore } from '../../health/store';

/** Everything shared by all cards that changes how they draw. */
export interface CardLook {
  xAxis: XAxis;
  smoothing: number;
  smoother: Smoother;
  ignoreOutliers: boolean;
  groupBy: CompiledGroupBy;
  /** `groupBy` as text, for change detection. */
  groupByKey: string;
  /** Colours of the aggregation groups (distinct palette slots). */
  groupColors: Map<string, string>;
  band: Band;
  showMembers: boolean;
  tooltipSort: TooltipSort;
  colorsVersion: number;
  dark: boolean;
  generation: number;
}

export interface CardProps {
  api: DashboardApi;
  tag: string;
  description: string;
  runs: string[];
  look: CardLook;
  pinned: boolean;
  wide: boolean;
  logY: boolean;
  /** Distinguishes the pinned copy of a card from the one in its group. */
  section: 'pinned' | 'group';
}

function formatX(xAxis: XAxis): (x: number) => string {
  if (xAxis === 'step') return (x) => `step ${formatStep(x)}`;
  if (xAxis === 'relative') return (x) => formatDuration(x);
  return (x) => formatWallTime(x);
}

const HEIGHT = 236;
const WIDE_HEIGHT = 340;

function bucketsFor(width: number): number {
  // Rounded up so small resizes do not refetch.
  return Math.min(4000, Math.max(100, Math.ceil(width / 100) * 100));
}

export function ScalarCard(props: CardProps): JSX.Element {
  const { api, tag, description, runs, look, pinned, wide, logY, section } = props;
  const cardRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<HTMLDivElement>(null);
  const chart = useRef<LineChart | null>(null);
  const visible = useVisible(cardRef);

  const [limits, setLimits] = useState<Limits>(NO_LIMITS);
  const [fetchRange, setFetchRange] = useState<[number, number] | null>(null);
  const [buckets, setBuckets] = useState(() => bucketsFor(api.settings.get().cardWidth - 60));
  const [points, setPoints] = useState<{ shown: number; total: number } | null>(null);
  const [ranges, setRanges] = useState<{ x: [number, number]; y: [number, number] } | null>(null);
  const [showLimits, setShowLimits] = useState(false);
  const [hover, setHover] = useState<HoverLine[]>([]);

  // The step selection: this card's own, or the one all cards share ("Link by step").
  const selectionPrefs = useStore(selectionSettings(), (s) => s);
  const shared = useStore(linkedSelection, (s) => s.selection);
  const [ownSelection, setOwnSelection] = useState<StepSelection | null>(null);
  const selection = selectionPrefs.linkByStep ? shared : ownSelection;
  const setSelection = useCallback(
    (next: StepSelection | null) => {
      if (selectionSettings().get().linkByStep) linkedSelection.set({ selection: next });
      else setOwnSelection(next);
    },
    [],
  );
  const clearSelection = useCallback(() => setSelection(null), [setSelection]);
  const selectionRef = useRef(selection);
  selectionRef.current = selection;
  const hoverRef = useRef<HoverLine[]>([]);

  const series = useSeries(api.client, tag, runs, look.xAxis, fetchRange, buckets, look.generation, visible);
  const dataRef = useRef<RunData[]>([]);
  dataRef.current = series.runs;

  // Zoom state belongs to one axis kind and scale.
  useEffect(() => {
    setLimits(NO_LIMITS);
    setFetchRange(null);
    setOwnSelection(null);
  }, [look.xAxis]);
  useEffect(() => setLimits((l) => ({ ...l, y: [null, null] })), [logY]);

  const hostState = useRef({ look, xAxis: look.xAxis });
  hostState.current = { look, xAxis: look.xAxis };

  useLayoutEffect(() => {
    const el = chartRef.current;
    if (!el) return undefined;
    setBuckets(bucketsFor(el.clientWidth - 60));
    const host: ChartHost = {
      onZoom(x, y) {
        setLimits({ x, y: y ?? [null, null] });
        setFetchRange(stepRange(dataRef.current, hostState.current.xAxis, x));
      },
      onReset() {
        setLimits(NO_LIMITS);
        setFetchRange(null);
      },
      onWidth(width) {
        setBuckets(bucketsFor(width));
      },
      tooltipSort: () => hostState.current.look.tooltipSort,
      smoothingOn: () => hostState.current.look.smoothing > 0,
      tooltipLimit: () => selectionSettings().get().tooltipLimit,
      onPick(x, shift) {
        if (hoverRef.current.length === 0) return;
        const at = snapX(hoverRef.current, x);
        const range = shift || selectionSettings().get().rangeSelection;
        setSelection(nextSelection(selectionRef.current, at, range));
      },
    };
    const instance = new LineChart(el, host, HEIGHT);
    chart.current = instance;
    return () => {
      cancelFrame(instance);
      instance.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => chart.current?.setHeight(wide ? WIDE_HEIGHT : HEIGHT), [wide]);
  // A layout effect: the attribute changes in the same commit as the data table.
  useLayoutEffect(() => {
    chart.current?.setSelection(selection);
    // For tests and scripts: the selected x, or the range "a:b".
    const el = chartRef.current;
    if (el) {
      if (selection) el.dataset.selection = selection.end === null ? String(selection.start) : `${selection.start}:${selection.end}`;
      else delete el.dataset.selection;
    }
  }, [selection?.start, selection?.end]);
  useEffect(() => chart.current?.redraw(), [look.dark]);

  // Health flags: a badge when a drawn run has one on this tag; a marker at each flag's step
  // (and at each alert of a drawn run).
  const healthFlags = useStore(healthStore(), (h) => h.report.flags);
  const runsKey = runs.join('\u0000');
  const health = useMemo(() => summarize(cardFlags(healthFlags, tag, runs)), [healthFlags, tag, runsKey]);
  useEffect(() => {
    const drawn = series.runs.map((r) => ({ run: r.run, start: r.start }));
    const markers = cardMarkers(healthFlags, tag, drawn, look.xAxis).map((m) => ({
      x: m.x,
      color: levelColor(m.level),
      style: m.style,
      label: m.label,
      name: `${m.level}:${m.flag.kind}`,
    }));
    chart.current?.setMarkers(markers);
  }, [healthFlags, tag, series.version, look.xAxis, look.dark]);

  // Redraw, batched per animation frame across all cards.
  useEffect(() => {
    const instance = chart.current;
    if (!instance) return;
    const data = series.runs;
    scheduleFrame(instance, () => {
      const model = buildModel(data, {
        xAxis: look.xAxis,
        smoothing: look.smoothing,
        smoother: look.smoother,
        logY,
        ignoreOutliers: look.ignoreOutliers,
        groupBy: look.groupBy,
        band: look.band,
        showMembers: look.showMembers,
        color: (name) => api.colors.get(name),
        groupColor: (key) => look.groupColors.get(key) ?? api.colors.get(key),
        xLimits: limits.x,
        yLimits: limits.y,
        dark: look.dark,
      });
      instance.update(model);
      // For tests and scripts: how many lines (runs or groups) and points are drawn, and how
      // many times the chart was drawn anew.
      const el = chartRef.current;
      if (el) {
        el.dataset.runs = String(model.hover.length);
        el.dataset.points = String(model.pointsShown);
        el.dataset.draws = String(Number(el.dataset.draws ?? 0) + 1);
      }
      setPoints({ shown: model.pointsShown, total: model.pointsTotal });
      setRanges({ x: model.xRange, y: model.yRange });
      hoverRef.current = model.hover;
      setHover(model.hover);
      instance.setSelection(selectionRef.current);
    });
    // series.version stands for series.runs.
  }, [
    series.version,
    runs.join('\u0000'),
    look.xAxis,
    look.smoothing,
    look.smoother,
    look.ignoreOutliers,
    look.groupByKey,
    look.groupColors,
    look.band,
    look.showMembers,
    look.dark,
    look.colorsVersion,
    logY,
    limits,
  ]);

  const zoomed = limits.x.some((b) => b !== null) || limits.y.some((b) => b !== null);
  const hasData = series.runs.some((r) => r.columns.step.length > 0);
  const reduced = points !== null && points.shown < points.total;

  const setView = (patch: (v: ReturnType<typeof api.view.get>) => Partial<ReturnType<typeof api.view.get>>) =>
    api.view.set(patch);

  return (
    <div
      class={`card ${wide ? 'card--wide' : ''}`}
      ref={cardRef}
      data-testid="scalar-card"
      data-tag={tag}
      data-section={section}
    >
      <div class="card__head">
        <div class="card__titles">
          <div class="card__title" title={tag} data-testid="card-title">
            {tag}
          </div>
          <CardDescription description={description} />
          <div class="card__badges" hidden={!(look.ignoreOutliers || logY || zoomed || health)}>
            {health ? <CardHealthBadge summary={health} onOpen={() => openHealth(api, { tag })} /> : null}
            {look.ignoreOutliers ? (
              <span
                class="badge badge--warn"
                data-testid="outliers-badge"
                title="The y axis shows the 5th–95th percentile of the values: points beyond it are off the chart. Turn off “Ignore outliers” in Settings to see everything."
              >
                Outliers hidden
              </span>
            ) : null}
            {logY ? (
              <span class="badge" data-testid="log-badge" title="Log-scale y axis">
                log
              </span>
            ) : null}
            {zoomed ? <ZoomBadge /> : null}
          </div>
        </div>
        <div class="card__actions">
          <button
            type="button"
            class={`icon-button ${pinned ? 'icon-button--on' : ''}`}
            title={pinned ? 'Unpin' : 'Pin to the top'}
            aria-label={pinned ? 'Unpin' : 'Pin'}
            aria-pressed={pinned}
            data-testid="card-pin"
            onClick={() => setView((v) => ({ pinned: toggleIn(v.pinned, tag, !pinned) }))}
          >
            <PinIcon />
          </button>
          <LogYButton on={logY} onToggle={() => setView((v) => ({ logY: toggleIn(v.logY, tag, !logY) }))} />
          <FitButton
            onFit={() => {
              setLimits(NO_LIMITS);
              setFetchRange(null);
            }}
          />
          <button
            type="button"
            class={`icon-button ${showLimits ? 'icon-button--on' : ''}`}
            title="Set axis limits"
            aria-label="Set axis limits"
            aria-pressed={showLimits}
            data-testid="card-limits"
            onClick={() => setShowLimits(!showLimits)}
          >
            <RulerIcon />
          </button>
          <DownloadMenu
            api={api}
            tag={tag}
            runs={runs}
            chartEl={() => chartRef.current}
            legend={() => hoverRef.current.map((line) => ({ name: line.name, color: line.color }))}
          />
          <button
            type="button"
            class={`icon-button ${wide ? 'icon-button--on' : ''}`}
            title={wide ? 'Normal width' : 'Full width'}
            aria-label="Full width"
            aria-pressed={wide}
            data-testid="card-fullwidth"
            onClick={() => setView((v) => ({ wide: toggleIn(v.wide, tag, !wide) }))}
          >
            {wide ? <CollapseIcon /> : <ExpandIcon />}
          </button>
        </div>
      </div>
      {showLimits ? (
        <LimitsForm
          xAxis={look.xAxis}
          limits={limits}
          ranges={ranges}
          onApply={(next) => {
            setLimits(next);
            const x = next.x;
            setFetchRange(x[0] === null && x[1] === null ? null : stepRange(dataRef.current, look.xAxis, x));
          }}
        />
      ) : null}
      <div
        class="card__chart"
        data-testid="chart"
        ref={chartRef}
        // Keyboard access: focusable, arrow keys move the tooltip along x (shift: 10 points).
        tabIndex={0}
        role="group"
        aria-label={`Chart of ${tag}: arrow keys show the values point by point`}
        onKeyDown={(e) => {
          const step = e.shiftKey ? 10 : 1;
          const move =
            e.key === 'ArrowRight'
              ? step
              : e.key === 'ArrowLeft'
                ? -step
                : e.key === 'Home'
                  ? 'first'
                  : e.key === 'End'
                    ? 'last'
                    : e.key === 'Escape'
                      ? null
                      : undefined;
          if (move !== undefined && chart.current?.stepCursor(move)) e.preventDefault();
        }}
        onBlur={() => chart.current?.stepCursor(null)}
      >
        {!hasData ? (
          <div class="card__placeholder">
            {series.error
              ? `Could not load: ${series.error}`
              : series.pending || series.loading || !visible
                ? 'Loading…'
                : 'No data'}
          </div>
        ) : null}
      </div>
      {selection && hasData ? (
        <DataTable
          selection={selection}
          lines={hover}
          smoothing={look.smoothing > 0}
          formatX={formatX(look.xAxis)}
          exact={points !== null && points.shown === points.total}
          onClose={clearSelection}
        />
      ) : null}
      <div class="card__foot">
        {points && reduced ? (
          <span
            data-testid="card-points"
            title="The server sent each pixel column's first, last, lowest and highest point, so no spike is hidden. Zoom in for every point."
          >
            {formatStep(points.shown)} of {formatStep(points.total)} points
          </span>
        ) : points && hasData ? (
          <span data-testid="card-points">{formatStep(points.total)} points</span>
        ) : (
          <span />
        )}
        {series.error && hasData ? <span class="card__error">{series.error}</span> : null}
        {series.loading ? <span class="card__loading" role="status" aria-label="Loading" /> : null}
      </div>
    </div>
  );
}
