/**
 * The Text dashboard: a tag filter, "Enable Markdown", and one card per run×tag grouped by tag
 * prefix (each group collapsible and paginated).
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { CardGroups, useCollapsed } from '../../components/CardGroup';
import { LoadNotice, NoRunsSelected, NoTagMatch, Notice, TagFilterTools, useDashboardData } from '../../components/DashboardStates';
import { EmptyState } from '../../components/EmptyState';
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
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  // Re-render the cards when run colours change.
  useStore(api.colors.store, (c) => c.version);

  const [markdown, setMarkdown] = useState(() => loadMarkdown(storage()));
  const tags = useJson<TextTags>(api, pluginUrl('text', 'tags'));
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

  const [collapsed, toggleGroup] = useCollapsed();

  let body: JSX.Element;
  if (tags.data === null || !loaded) {
    body = <LoadNotice error={tags.error} subject="the text tags" loading="tags" />;
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
    body = <NoRunsSelected api={api} />;
  } else if (allCards.total === 0) {
    body = <Notice testid="no-text-in-runs">None of the selected runs has text.</Notice>;
  } else if (cards.total === 0) {
    body = <NoTagMatch filter={view.tagFilter} />;
  } else {
    body = (
      <CardGroups
        groups={cards.groups.map((group) => ({ name: group.name, tags: group.keys }))}
        pageSize={settings.pageSize}
        collapsed={collapsed}
        onToggle={toggleGroup}
        render={(key) => {
          const { run, tag } = parseCardKey(key);
          return <TextCard key={key} api={api} run={run} tag={tag} markdown={markdown} color={api.colors.get(run)} />;
        }}
      />
    );
  }

  return (
    <div class="text-dashboard" style={{ '--card-width': `${Math.max(settings.cardWidth, 435)}px` }}>
      <div class="toolbar">
        <TagFilterTools
          api={api}
          value={view.tagFilter}
          count={tags.data ? { shown: cards.tagCount, total: allCards.tagCount } : null}
        />
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
