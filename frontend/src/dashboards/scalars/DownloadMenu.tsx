/** A card's download menu: every point of one run, or of all shown runs in one file. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type { DashboardApi } from '../../core/dashboard';
import { renderChartImage, saveCanvas, type LegendEntry } from '../../charts/exportImage';
import { DownloadIcon } from '../../components/icons';
import { Popover } from '../../components/Popover';
import { allRunsText, fileName, saveText } from './download';

/** The card's chart as a PNG (title, lines as drawn, legend), or why not. */
function saveChartImage(chartEl: HTMLElement | null, tag: string, legend: LegendEntry[]): Promise<void> {
  const canvas = chartEl?.querySelector('canvas');
  if (!canvas) return Promise.reject(new Error('The chart is not drawn yet.'));
  const card = chartEl?.closest('[data-testid=scalar-card]') ?? chartEl;
  const css = getComputedStyle(card as Element);
  const root = getComputedStyle(document.documentElement);
  const image = renderChartImage(
    canvas,
    tag,
    legend,
    {
      background: css.backgroundColor || '#fff',
      text: root.getPropertyValue('--text').trim() || '#222',
      muted: root.getPropertyValue('--muted').trim() || '#666',
      font: css.fontFamily || 'sans-serif',
    },
  );
  return saveCanvas(image, `${fileName(tag, 'chart', 'csv').replace(/\.csv$/, '')}.png`);
}

export function DownloadMenu({
  api,
  tag,
  runs,
  chartEl,
  legend,
}: {
  api: DashboardApi;
  tag: string;
  runs: string[];
  /** The card's chart element, for the image download. */
  chartEl?: () => HTMLElement | null;
  /** The lines drawn (runs, or groups when runs are aggregated), for the image's legend. */
  legend?: () => LegendEntry[];
}): JSX.Element {
  const [run, setRun] = useState(runs[0] ?? '');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const current = runs.includes(run) ? run : (runs[0] ?? '');
  const all = async (format: 'csv' | 'json') => {
    setBusy(format);
    setError(null);
    try {
      saveText(fileName(tag, 'all_runs', format), await allRunsText(api.client, tag, runs, format), format);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <Popover label={<DownloadIcon />} title="Download data" testid="card-download">
      <div class="download" data-testid="download-menu">
        <div class="download__title">Download every point (not sampled)</div>
        {runs.length ? (
          <>
            <label class="download__row">
              <span>Run</span>
              <select
                value={current}
                data-testid="download-run-select"
                onChange={(e) => setRun(e.currentTarget.value)}
              >
                {runs.map((r) => (
                  <option value={r}>{r}</option>
                ))}
              </select>
            </label>
            <div class="download__row download__links">
              <a
                class="button"
                href={api.client.scalarsUrl(current, tag, 'csv')}
                download={fileName(tag, current, 'csv')}
                data-testid="download-run-csv"
                data-run={current}
              >
                CSV
              </a>
              <a
                class="button"
                href={api.client.scalarsUrl(current, tag, 'json')}
                download={fileName(tag, current, 'json')}
                data-testid="download-run-json"
                data-run={current}
              >
                JSON
              </a>
            </div>
            <div class="download__title">All {runs.length} shown runs, one file</div>
            <div class="download__row download__links">
              <button
                type="button"
                class="button"
                disabled={busy !== null}
                data-testid="download-all-csv"
                onClick={() => void all('csv')}
                title="Long format: run,step,wall_time,value"
              >
                {busy === 'csv' ? 'Preparing…' : 'CSV'}
              </button>
              <button
                type="button"
                class="button"
                disabled={busy !== null}
                data-testid="download-all-json"
                onClick={() => void all('json')}
                title='{"run": [[wall_time, step, value], ...]}'
              >
                {busy === 'json' ? 'Preparing…' : 'JSON'}
              </button>
            </div>
            {chartEl ? (
              <>
                <div class="download__title">The chart as drawn</div>
                <div class="download__row download__links">
                  <button
                    type="button"
                    class="button"
                    data-testid="download-png"
                    title="PNG with the card's title and a legend"
                    onClick={() => {
                      setError(null);
                      const entries = legend?.() ?? runs.map((run) => ({ name: run, color: api.colors.get(run) }));
                      saveChartImage(chartEl(), tag, entries).catch((e: unknown) =>
                        setError(e instanceof Error ? e.message : String(e)),
                      );
                    }}
                  >
                    PNG
                  </button>
                </div>
              </>
            ) : null}
            {error ? <div class="download__error">{error}</div> : null}
          </>
        ) : (
          <div class="download__row">No run selected.</div>
        )}
      </div>
    </Popover>
  );
}
