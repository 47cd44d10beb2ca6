/**
 * One run×tag card: its entries newest first (step and time above each), a step slider that
 * starts the list at a step ("only this step" shows just that one), the run's colour.
 *
 * The HTML is the server's, sanitized against a strict allowlist (render.py); DOMPurify sanitizes
 * it again before it is inserted (defence in depth: a proxy or an older server could send other
 * HTML), and the app's CSP forbids inline scripts besides.
 */
import type { JSX } from 'preact';
import DOMPurify from 'dompurify';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { formatStep, formatWallTime } from '../../core/format';
import { useJson } from '../../core/useJson';
import { useVisible } from '../../core/visible';
import { StepSlider } from '../../components/StepSlider';
import { sliderIndex, stepsOf, visibleEntries, type TextEntry } from './model';

export interface TextCardProps {
  api: DashboardApi;
  run: string;
  tag: string;
  markdown: boolean;
  color: string;
}

export function TextCard({ api, run, tag, markdown, color }: TextCardProps): JSX.Element {
  const cardRef = useRef<HTMLDivElement>(null);
  const visible = useVisible(cardRef);
  // Loaded once seen, and kept (and live-updated) after it scrolls away.
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    if (visible) setSeen(true);
  }, [visible]);
  const url = pluginUrl('text', 'text', markdown ? { run, tag } : { run, tag, markdown: 'false' });
  const state = useJson<TextEntry[]>(api, seen ? url : null);

  // null: follow the latest step as new ones arrive.
  const [chosen, setChosen] = useState<number | null>(null);
  const [only, setOnly] = useState(false);
  const entries = state.data ?? [];
  const steps = useMemo(() => stepsOf(entries), [entries]);
  const wallTimes = useMemo(
    () => steps.map((step) => Math.max(...entries.filter((e) => e.step === step).map((e) => e.wall_time))),
    [entries, steps],
  );
  const index = sliderIndex(steps, chosen);
  const selected = steps[index] ?? null;
  const shown = useMemo(
    () => visibleEntries(entries, chosen === null && !only ? null : selected, only),
    [entries, chosen, only, selected],
  );

  let body: JSX.Element;
  if (state.data === null) {
    body = (
      <div class="text-card__placeholder">
        {state.error ? `Could not load: ${state.error}` : 'Loading…'}
      </div>
    );
  } else if (entries.length === 0) {
    body = <div class="text-card__placeholder">No text at these steps</div>;
  } else {
    body = (
      <div class="text-card__entries" data-testid="text-entries">
        {shown.map((entry) => (
          <article
            key={`${entry.step}:${entry.wall_time}`}
            class="text-entry"
            data-testid="text-entry"
            data-step={entry.step}
          >
            <div class="text-entry__meta">
              <span>
                step <b data-testid="text-entry-step">{formatStep(entry.step)}</b>
              </span>
              <span class="text-entry__time">{formatWallTime(entry.wall_time)}</span>
            </div>
            <div
              class={`text-entry__body text-html ${markdown ? '' : 'text-html--raw'}`}
              data-testid="text-html"
              dangerouslySetInnerHTML={{ __html: DOMPurify.sanitize(entry.text) }}
            />
          </article>
        ))}
      </div>
    );
  }

  return (
    <div
      class="card text-card"
      ref={cardRef}
      style={{ '--run-color': color }}
      data-testid="text-card"
      data-run={run}
      data-tag={tag}
    >
      <div class="card__head text-card__head">
        <div class="card__titles">
          <div class="card__title" title={tag} data-testid="card-title">
            {tag}
          </div>
          <div class="text-card__run" title={run}>
            <span class="text-card__swatch" data-testid="run-swatch" />
            <span data-testid="card-run">{run}</span>
          </div>
        </div>
        {state.pending ? <span class="card__loading" role="status" aria-label="Loading" /> : null}
      </div>
      {steps.length > 1 ? (
        <div class="text-card__controls">
          <StepSlider
            steps={steps}
            wallTimes={wallTimes}
            index={index}
            onChange={(i) => setChosen(i >= steps.length - 1 ? null : (steps[i] ?? null))}
          />
          <label class="text-card__only" title="List only the entries at the slider's step">
            <input
              type="checkbox"
              checked={only}
              data-testid="only-step"
              onChange={(e) => setOnly(e.currentTarget.checked)}
            />{' '}
            only this step
          </label>
        </div>
      ) : null}
      {body}
      <div class="card__foot">
        <span data-testid="text-count">
          {state.data === null
            ? ''
            : shown.length === entries.length
              ? `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`
              : `${shown.length} of ${entries.length} entries`}
        </span>
        {state.error && state.data !== null ? <span class="card__error">{state.error}</span> : null}
      </div>
    </div>
  );
}
