/** One histogram card: a run × tag, or a tag with several runs overlaid (one colour per run). */
import type { JSX } from 'preact';
import { useMemo, useRef } from 'preact/hooks';

import { pluginUrl, type XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { formatStep } from '../../core/format';
import { useJson } from '../../core/useJson';
import { useVisible } from '../../core/visible';
import { CardDescription, CardStatus } from '../../components/CardParts';
import { HistogramChart } from './Chart';
import { parseHistograms, valueRange, type Mode, type RawHistogram, type RunHistograms } from './model';

/** Histograms drawn per series: TensorBoard's histogram route serves 51. */
export const SAMPLES = 51;

export interface HistogramCardProps {
  api: DashboardApi;
  tag: string;
  runs: string[];
  description: string;
  mode: Mode;
  xAxis: XAxis;
  /** The run colours' version: a change redraws. */
  colorsVersion: number;
  /** Offset mode: outlines only instead of filled, shaded ridges. */
  outline: boolean;
}

/** Compare runs in offset mode: one row per run (small multiples), this tall each. */
export const ROW_HEIGHT = 130;

export function HistogramCard({
  api,
  tag,
  runs,
  description,
  mode,
  xAxis,
  colorsVersion,
  outline,
}: HistogramCardProps): JSX.Element {
  const cardRef = useRef<HTMLDivElement>(null);
  const seen = useRef(false);
  const visible = useVisible(cardRef);
  if (visible) seen.current = true;
  const url = seen.current ? pluginUrl('histograms', 'multirun', { tag, runs, samples: SAMPLES }) : null;
  const state = useJson<{ tag: string; runs: Record<string, RawHistogram[]> }>(api, url);
  const series: RunHistograms[] = useMemo(() => {
    const byRun = state.data?.runs ?? {};
    return runs.filter((run) => run in byRun).map((run) => ({ run, histograms: parseHistograms(byRun[run]!) }));
  }, [state.data, runs.join('\u0000')]);
  const multiRun = runs.length > 1;
  const color = useMemo(() => (run: string) => api.colors.get(run), [api, colorsVersion]);
  const count = series.reduce((n, s) => n + s.histograms.length, 0);
  const steps = series.flatMap((s) => s.histograms.map((h) => h.step));
  const single = runs.length === 1 ? runs[0]! : null;
  // Ridgelines of several runs in one chart hide each other: Compare runs in offset mode draws a
  // row per run instead, on one shared value range so the rows line up.
  const rows = multiRun && mode === 'offset';
  const shared = useMemo(() => (rows ? valueRange(series.flatMap((s) => s.histograms)) : null), [rows, series]);

  return (
    <div
      class="card hist-card"
      ref={cardRef}
      data-testid="histogram-card"
      data-tag={tag}
      data-run={single ?? undefined}
      data-runs={runs.length}
    >
      <div class="card__head">
        <div class="card__titles">
          <div class="card__title" title={tag} data-testid="card-title">
            {tag}
          </div>
          {single !== null ? (
            <div class="hist-card__run" data-testid="card-run" title={single}>
              <span class="swatch" style={{ background: color(single) }} />
              {single}
            </div>
          ) : (
            <div class="hist-card__legend" data-testid="card-legend">
              {runs.map((run) => (
                <span key={run} class="hist-card__run" title={run}>
                  <span class="swatch" style={{ background: color(run) }} />
                  {run}
                </span>
              ))}
            </div>
          )}
          <CardDescription description={description} />
        </div>
      </div>
      <div class="card__chart hist-card__chart">
        {series.length && rows ? (
          <div class="hist-rows" data-testid="hist-rows">
            {series.map((one) => (
              <div key={one.run} class="hist-row" data-testid="hist-row" data-run={one.run}>
                <div class="hist-row__run" title={one.run}>
                  <span class="swatch" style={{ background: color(one.run) }} />
                  {one.run}
                </div>
                <HistogramChart
                  runs={[one]}
                  mode={mode}
                  xAxis={xAxis}
                  color={color}
                  multiRun={false}
                  outline={outline}
                  height={ROW_HEIGHT}
                  range={shared}
                />
              </div>
            ))}
          </div>
        ) : series.length ? (
          <HistogramChart runs={series} mode={mode} xAxis={xAxis} color={color} multiRun={multiRun} outline={outline} />
        ) : (
          <div class="card__placeholder">{state.error ? '' : 'Loading…'}</div>
        )}
      </div>
      <div class="card__foot">
        <span data-testid="card-count">
          {count
            ? `${count} histogram${count === 1 ? '' : 's'} · step ${formatStep(Math.min(...steps))}–${formatStep(Math.max(...steps))}`
            : ''}
        </span>
        <CardStatus error={state.error} pending={state.pending} />
      </div>
    </div>
  );
}
