/** Small pieces of the cards' markup that several dashboards share. */
import type { JSX } from 'preact';

import { FitIcon, LogIcon } from './icons';

/** The description under a card's title (`stripTags`: without the HTML tags summaries carry). */
/**
 * The text of a tag description, which the server sends as sanitized HTML (as TensorBoard):
 * parsed inertly (DOMParser runs no script and loads nothing), entities decoded.
 */
export function descriptionText(html: string): string {
  if (!html) return '';
  const doc = new DOMParser().parseFromString(html, 'text/html');
  return (doc.body.textContent ?? '').replace(/\s+/g, ' ').trim();
}

export function CardDescription({ description }: { description: string }): JSX.Element | null {
  const text = descriptionText(description);
  return text ? (
    <div class="card__description" title={text} data-testid="card-description">
      {text}
    </div>
  ) : null;
}

/** The badge of a zoomed chart. */
export function ZoomBadge(): JSX.Element {
  return (
    <span class="badge" data-testid="zoom-badge" title="Double-click the chart to reset">
      zoomed
    </span>
  );
}

/** A card foot's right end: the card's load error, or a spinner while it loads. */
export function CardStatus({ error, pending }: { error: string | null | undefined; pending: boolean }): JSX.Element | null {
  return error ? (
    <span class="card__error" data-testid="card-error" title={error}>
      {error}
    </span>
  ) : pending ? (
    <span class="card__loading" role="status" aria-label="Loading" />
  ) : null;
}

/** A line chart card's log-scale y toggle. */
export function LogYButton({ on, onToggle }: { on: boolean; onToggle(): void }): JSX.Element {
  return (
    <button
      type="button"
      class={`icon-button ${on ? 'icon-button--on' : ''}`}
      title="Toggle log-scale y axis"
      aria-label="Log-scale y axis"
      aria-pressed={on}
      data-testid="card-logy"
      onClick={onToggle}
    >
      <LogIcon />
    </button>
  );
}

/** A line chart card's "fit to data" button (double-clicking the chart does the same). */
export function FitButton({ onFit }: { onFit(): void }): JSX.Element {
  return (
    <button
      type="button"
      class="icon-button"
      title="Fit to data (or double-click the chart)"
      aria-label="Fit to data"
      data-testid="card-reset"
      onClick={onFit}
    >
      <FitIcon />
    </button>
  );
}
