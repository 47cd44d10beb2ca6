/**
 * The Mesh dashboard: one card per run × mesh (the `_VERTEX`/`_FACE`/`_COLOR` series of one
 * `add_mesh` together), grouped by the mesh name's prefix, filtered by the tag filter, and the
 * point-of-view choice: each card its own camera, or one viewpoint shared by all.
 */
import type { JSX } from 'preact';
import { useCallback, useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { shownRuns } from '../../core/runs';
import { useStore } from '../../core/store';
import { compareTags, groupTags } from '../../core/tags';
import { useJson } from '../../core/useJson';
import { CardGroup } from '../../components/CardGroup';
import { EmptyState } from '../../components/EmptyState';
import { FilterInput } from '../../components/FilterInput';
import { MeshCard } from './Card';
import { cardKey, cardsOf, parseCardKey } from './cards';
import type { MeshTags } from './model';
import { ViewBus } from './viewer';

const EXAMPLE = `    v, c = model.point_cloud(step)   # [1, N, 3] positions, [1, N, 3] RGB 0-255
    writer.add_mesh("cloud", vertices=v, colors=c, global_step=step)`;

export function MeshDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const loaded = useStore(api.data, (d) => d.loaded);
  const allRuns = useStore(api.data, (d) => d.runs);
  const loading = useStore(api.data, (d) => d.status?.loading ?? false);
  const dataLocation = useStore(api.data, (d) => d.environment?.data_location);
  const runFilter = useStore(api.view, (v) => v.runFilter);
  const selection = useStore(api.view, (v) => v.selection);
  const tagFilter = useStore(api.view, (v) => v.tagFilter);
  const pageSize = useStore(api.settings, (s) => s.pageSize);
  const cardWidth = useStore(api.settings, (s) => s.cardWidth);
  useStore(api.colors.store, (c) => c.version); // re-render with the runs' new colours
  const dark = useStore(api.theme, (t) => t.dark);

  const tags = useJson<MeshTags>(api, pluginUrl('mesh', 'tags'));
  const [shared, setShared] = useState(false);
  const bus = useMemo(() => new ViewBus(), []);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const onTagFilter = useCallback((text: string) => api.view.set({ tagFilter: text }), [api]);

  const shown = useMemo(() => shownRuns(allRuns, runFilter, selection), [allRuns, runFilter, selection]);
  const tagRegex = parseFilter(tagFilter).regex;
  const byName = useMemo(() => cardsOf(tags.data ?? {}, shown), [tags.data, shown]);
  const names = [...byName.keys()].filter((name) => matches(tagRegex, name)).sort(compareTags);
  const total = useMemo(
    () => Object.values(tags.data ?? {}).reduce((n, meshes) => n + Object.keys(meshes).length, 0),
    [tags.data],
  );

  const toggleShared = (next: boolean) => {
    bus.last = null; // a new choice starts from each card's own view
    setShared(next);
  };

  let body: JSX.Element;
  if (!tags.data || !loaded) {
    body = tags.error ? (
      <div class="notice notice--error" data-testid="mesh-error">
        Could not load the meshes: {tags.error}
      </div>
    ) : (
      <div class="notice">Loading meshes…</div>
    );
  } else if (total === 0) {
    body = (
      <EmptyState
        title="No meshes yet"
        what="meshes or point clouds"
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
  } else if (byName.size === 0) {
    body = (
      <div class="notice" data-testid="no-meshes-in-runs">
        None of the selected runs has a mesh.
      </div>
    );
  } else if (names.length === 0) {
    body = (
      <div class="notice" data-testid="no-tags-match">
        No mesh matches <code>{tagFilter}</code>.
      </div>
    );
  } else {
    const groups = tagFilter ? [{ name: `Tags matching /${tagFilter}/`, tags: names }] : groupTags(names);
    body = (
      <>
        {groups.map((group) => {
          const keys = group.tags.flatMap((name) => (byName.get(name) ?? []).map((run) => cardKey(name, run)));
          return (
            <CardGroup
              key={group.name}
              name={group.name}
              tags={keys}
              pageSize={pageSize}
              collapsed={collapsed.has(group.name)}
              onToggle={() => {
                const next = new Set(collapsed);
                if (next.has(group.name)) next.delete(group.name);
                else next.add(group.name);
                setCollapsed(next);
              }}
              render={(key) => {
                const [name, run] = parseCardKey(key);
                return (
                  <MeshCard
                    key={key}
                    api={api}
                    run={run}
                    name={name}
                    samples={tags.data?.[run]?.[name]?.samples ?? 1}
                    color={api.colors.get(run)}
                    dark={dark}
                    shared={shared}
                    bus={bus}
                  />
                );
              }}
            />
          );
        })}
      </>
    );
  }

  return (
    <div class="mesh" style={{ '--card-width': `${cardWidth}px` }}>
      <div class="toolbar">
        <FilterInput
          value={tagFilter}
          onCommit={onTagFilter}
          placeholder="Filter meshes (regex)"
          label="Filter meshes (regex)"
          testid="tag-filter"
        />
        <span class="toolbar__count" data-testid="tag-count">
          {tags.data ? `${names.length} of ${byName.size} meshes` : ''}
        </span>
        <div class="mesh__pov" role="group" aria-label="Point of view">
          <span class="mesh__pov-label">Point of view</span>
          <button
            type="button"
            class={`button ${shared ? '' : 'button--on'}`}
            aria-pressed={!shared}
            data-testid="pov-independent"
            title="Each card has its own camera"
            onClick={() => toggleShared(false)}
          >
            Independent
          </button>
          <button
            type="button"
            class={`button ${shared ? 'button--on' : ''}`}
            aria-pressed={shared}
            data-testid="pov-shared"
            title="One camera for all cards: orbiting one moves the others"
            onClick={() => toggleShared(true)}
          >
            Share viewpoint
          </button>
        </div>
        {tags.pending ? <span class="card__loading" aria-label="Loading" /> : null}
      </div>
      {tags.error && tags.data ? (
        <div class="notice notice--error">Could not refresh the meshes: {tags.error}</div>
      ) : null}
      <div class="mesh__cards">{body}</div>
    </div>
  );
}
