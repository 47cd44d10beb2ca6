/** A collapsible, paginated group of cards (a tag prefix's cards in every dashboard). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { ChevronIcon } from './icons';

export function CardGroup({
  name,
  tags,
  pageSize,
  collapsed,
  onToggle,
  render,
}: {
  name: string;
  tags: string[];
  pageSize: number;
  collapsed: boolean;
  onToggle(): void;
  render(tag: string): JSX.Element;
}): JSX.Element {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(tags.length / pageSize));
  const current = Math.min(page, pages - 1);
  const slice = tags.slice(current * pageSize, (current + 1) * pageSize);
  return (
    <section class={`group ${collapsed ? 'group--collapsed' : ''}`} data-testid="card-group" data-group={name}>
      <div class="group__head">
        <button
          type="button"
          class="group__toggle"
          aria-expanded={!collapsed}
          data-testid="group-toggle"
          onClick={onToggle}
        >
          <ChevronIcon />
          <span class="group__name">{name}</span>
          <span class="group__count">{tags.length}</span>
        </button>
        {pages > 1 && !collapsed ? (
          <div class="pager" data-testid="pager">
            <button
              type="button"
              class="button"
              disabled={current === 0}
              data-testid="page-prev"
              onClick={() => setPage(current - 1)}
            >
              Prev
            </button>
            <span>
              Page{' '}
              <input
                type="number"
                min={1}
                max={pages}
                value={current + 1}
                data-testid="page-input"
                onChange={(e) => {
                  const n = Math.round(Number(e.currentTarget.value));
                  if (n >= 1 && n <= pages) setPage(n - 1);
                }}
              />{' '}
              of {pages}
            </span>
            <button
              type="button"
              class="button"
              disabled={current >= pages - 1}
              data-testid="page-next"
              onClick={() => setPage(current + 1)}
            >
              Next
            </button>
          </div>
        ) : null}
      </div>
      {collapsed ? null : <div class="cards">{slice.map(render)}</div>}
    </section>
  );
}
