/**
 * The Text dashboard: a tag filter, "Enable Markdown", and one card per run×tag grouped by tag
 * prefix (each group collapsible and paginated).
 */
import type { JSX } from 'preact';
import { useCallback, useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { shownRuns } from '../../core/runs';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { CardGroup } from '../../components/CardGroup';
import { EmptyState } from '../../components/EmptyState';
import { FilterInput } from '../../components/FilterInput';
import { TextCard } from './Card';
import { hasText, loadMarkdown, parseCardKey, saveMarkdown, textCards, type TextTags } from './model';

const EXAMPLE = `    writer.add_text("notes", "**bold** text", step)`;

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function TextDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const loaded = useStore(api.data, (d) => d.loaded);
  const allRuns = useStore(api.data, (d) => d.runs);
  const loading = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  // Re-render the cards when run colours change.
  useStore(api.colors.store, (c) => c.version);

  const [markdown, setMarkdown] = useState(() => loadMarkdown(storage()));
  const tags = useJson<TextTags>(api, pluginUrl('text', 'tags'));
  const shown = useMemo(
    () => shownRuns(allRuns, view.runFilter, view.selection),
    [allRuns, view.runFilter, view.selection],
  );
  const tagRegex = parseFilter(view.tagFilter).regex;
  const filtered = view.tagFilter !== '';
  const cards = useMemo(
    () =>
      textCards(
        tags.data ?? {},
        shown,
        (tag) => matches(tagRegex, tag),
        filtered ? `Tags matching /${view.tagFilter}/` : null,
      ),
    [tags.data, shown, view.tagFilter],
  );
  const allCards = useMemo(() => textCards(tags.data ?? {}, shown, () => true, null), [tags.data, shown]);

  const onTagFilter = useCallback((text: string) => api.view.set({ tagFilter: text }), [api]);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());

  let body: JSX.Element;
  if (tags.data === null || !loaded) {
    body = tags.error ? (
      <div class="notice notice--error">Could not load the text tags: {tags.error}</div>
    ) : (
      <div class="notice">Loading tags…</div>
    );
  } else if (!hasText(tags.data)) {
    body = (
      <EmptyState
        title="No text data yet"
        what="text summaries"
        example={EXAMPLE}
        dataLocation={dataLocation}
        loading={loading}
      />
    );
  } else if (shown.length === 0) {
    body = (
      <div class="notice" data-testid="no-runs-selected">
        No run is selected. Pick runs on the left, or{' '}
        <button
          type="button"
          class="link-button"
          onClick={() => api.view.set({ selection: { mode: 'all', runs: [] }, runFilter: '' })}
        >
          show all runs
        </button>
        .
      </div>
    );
  } else if (allCards.total === 0) {
    body = (
      <div class="notice" data-testid="no-text-in-runs">
        None of the selected runs has text.
      </div>
    );
  } else if (cards.total === 0) {
    body = (
      <div class="notice" data-testid="no-tags-match">
        No tag matches <code>{view.tagFilter}</code>.
      </div>
    );
  } else {
    body = (
      <>
        {cards.groups.map((group) => (
          <CardGroup
            key={group.name}
            name={group.name}
            tags={group.keys}
            pageSize={settings.pageSize}
            collapsed={collapsed.has(group.name)}
            onToggle={() => {
              const next = new Set(collapsed);
              if (next.has(group.name)) next.delete(group.name);
              else next.add(group.name);
              setCollapsed(next);
            }}
            render={(key) => {
              const { run, tag } = parseCardKey(key);
              return (
                <TextCard key={key} api={api} run={run} tag={tag} markdown={markdown} color={api.colors.get(run)} />
              );
            }}
          />
        ))}
      </>
    );
  }

  return (
    <div class="text-dashboard" style={{ '--card-width': `${Math.max(settings.cardWidth, 435)}px` }}>
      <div class="toolbar">
        <FilterInput
          value={view.tagFilter}
          onCommit={onTagFilter}
          placeholder="Filter tags (regex)"
          label="Filter tags (regex)"
          testid="tag-filter"
        />
        <span class="toolbar__count" data-testid="tag-count">
          {tags.data ? `${cards.tagCount} of ${allCards.tagCount} tags` : ''}
        </span>
        <label class="text-dashboard__markdown" title="Render text as Markdown (off: the text as written)">
          <input
            type="checkbox"
            checked={markdown}
            data-testid="markdown-toggle"
            onChange={(e) => {
              const on = e.currentTarget.checked;
              setMarkdown(on);
              saveMarkdown(storage(), on);
            }}
          />{' '}
          Enable Markdown
        </label>
      </div>
      <div class="text-dashboard__cards">{body}</div>
    </div>
  );
}
