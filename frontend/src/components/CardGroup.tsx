/** A collapsible, paginated group of cards (a tag prefix's cards in every dashboard). */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useState } from 'preact/hooks';

import { groupTags } from '../core/tags';
import { ChevronIcon } from './icons';
import { useDraft } from '../core/draft';

/** A group's head button: the chevron, the name and the number of cards; toggles the group. */
export function GroupToggle({
  name,
  count,
  collapsed,
  onToggle,
}: {
  name: string;
  count: number;
  collapsed: boolean;
  onToggle(): void;
}): JSX.Element {
  return (
    <button type="button" class="group__toggle" aria-expanded={!collapsed} data-testid="group-toggle" onClick={onToggle}>
      <ChevronIcon />
      <span class="group__name">{name}</span>
      <span class="group__count">{count}</span>
    </button>
  );
}

/** A dashboard's card groups: by tag prefix, or one group of the tags the filter matches. */
export function tagGroups(tagFilter: string, tags: string[]): { name: string; tags: string[] }[] {
  return tagFilter !== '' ? [{ name: `Tags matching /${tagFilter}/`, tags }] : groupTags(tags);
}

/** The names of the collapsed groups, and a toggle (kept by the dashboard across its states). */
export function useCollapsed(): [Set<string>, (name: string) => void] {
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const toggle = useCallback((name: string) => {
    setCollapsed((old) => {
      const next = new Set(old);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });
  }, []);
  return [collapsed, toggle];
}

/** One CardGroup per group, collapsed as `collapsed` says. */
export function CardGroups({
  groups,
  pageSize,
  collapsed,
  onToggle,
  render,
  keyPrefix = '',
}: {
  groups: readonly { name: string; tags: string[] }[];
  pageSize: number;
  collapsed: Set<string>;
  onToggle(name: string): void;
  render(item: string): JSX.Element;
  /** Prefixed to each group's key (a new key remounts the group: its page starts over). */
  keyPrefix?: string;
}): JSX.Element {
  return (
    <>
      {groups.map((group) => (
        <CardGroup
          key={`${keyPrefix}${group.name}`}
          name={group.name}
          tags={group.tags}
          pageSize={pageSize}
          collapsed={collapsed.has(group.name)}
          onToggle={() => onToggle(group.name)}
          render={render}
        />
      ))}
    </>
  );
}

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
  const pageField = useDraft(current + 1, (text) => {
    const n = Math.round(Number(text));
    if (n >= 1 && n <= pages) setPage(n - 1);
  });
  const slice = tags.slice(current * pageSize, (current + 1) * pageSize);
  return (
    <section class={`group ${collapsed ? 'group--collapsed' : ''}`} data-testid="card-group" data-group={name}>
      <div class="group__head">
        <GroupToggle name={name} count={tags.length} collapsed={collapsed} onToggle={onToggle} />
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
                {...pageField}
                data-testid="page-input"
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

/** The "Pinned" section above a dashboard's groups: its cards in one row of cards. */
export function PinnedSection({ count, children }: { count: number; children: ComponentChildren }): JSX.Element {
  return (
    <section class="group group--pinned" data-testid="pinned-section">
      <div class="group__head">
        <span class="group__name">Pinned</span>
        <span class="group__count">{count}</span>
      </div>
      <div class="cards">{children}</div>
    </section>
  );
}
