/** Small pieces of the cards' markup that several dashboards share. */
import type { JSX } from 'preact';

/** The description under a card's title (`stripTags`: without the HTML tags summaries carry). */
export function CardDescription({
  description,
  stripTags = true,
}: {
  description: string;
  stripTags?: boolean;
}): JSX.Element | null {
  return description ? (
    <div class="card__description" title={description}>
      {stripTags ? description.replace(/<[^>]*>/g, '') : description}
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
    <span class="card__loading" aria-label="Loading" />
  ) : null;
}
