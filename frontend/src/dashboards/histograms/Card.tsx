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
import { parseHistograms, type Mode, type RawHistogram, type RunHistograms } from './model';

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
}

export function HistogramCard({ api, tag, runs, description, mode, xAxis, colorsVersion }: HistogramCardProps): JSX.Element {
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
        {series.length ? (
          <HistogramChart runs={series} mode={mode} xAxis={xAxis} color={color} multiRun={multiRun} />
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
