/**
 * The Mesh dashboard: one card per run × mesh (the `_VERTEX`/`_FACE`/`_COLOR` series of one
 * `add_mesh` together), grouped by the mesh name's prefix, filtered by the tag filter, and the
 * point-of-view choice: each card its own camera, or one viewpoint shared by all.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { matches, parseFilter } from '../../core/regex';
import { useStore } from '../../core/store';
import { compareTags } from '../../core/tags';
import { useJson } from '../../core/useJson';
import { CardGroups, tagGroups, useCollapsed } from '../../components/CardGroup';
import { LoadNotice, NoRunsSelected, NoTagMatch, Notice, TagFilterTools, useDashboardData } from '../../components/DashboardStates';
import { EmptyState } from '../../components/EmptyState';
import { MeshCard } from './Card';
import { cardKey, cardsOf, parseCardKey } from './cards';
import type { MeshTags } from './model';
import { ViewBus } from './viewer';

const EXAMPLE = `    v, c = model.point_cloud(step)   # [1, N, 3] positions, [1, N, 3] RGB 0-255
    writer.add_mesh("cloud", vertices=v, colors=c, global_step=step)`;

export function MeshDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  const tagFilter = useStore(api.view, (v) => v.tagFilter);
  const pageSize = useStore(api.settings, (s) => s.pageSize);
  const cardWidth = useStore(api.settings, (s) => s.cardWidth);
  useStore(api.colors.store, (c) => c.version); // re-render with the runs' new colours
  const dark = useStore(api.theme, (t) => t.dark);

  const tags = useJson<MeshTags>(api, pluginUrl('mesh', 'tags'));
  const [shared, setShared] = useState(false);
  const bus = useMemo(() => new ViewBus(), []);
  const [collapsed, toggleGroup] = useCollapsed();

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
    body = <LoadNotice error={tags.error} subject="the meshes" loading="meshes" errorTestid="mesh-error" />;
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
    body = <NoRunsSelected api={api} />;
  } else if (byName.size === 0) {
    body = <Notice testid="no-meshes-in-runs">None of the selected runs has a mesh.</Notice>;
  } else if (names.length === 0) {
    body = <NoTagMatch filter={tagFilter} noun="mesh" />;
  } else {
    const groups = tagGroups(tagFilter, names).map((group) => ({
      name: group.name,
      tags: group.tags.flatMap((name) => (byName.get(name) ?? []).map((run) => cardKey(name, run))),
    }));
    body = (
      <CardGroups
        groups={groups}
        pageSize={pageSize}
        collapsed={collapsed}
        onToggle={toggleGroup}
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
  }

  return (
    <div class="mesh" style={{ '--card-width': `${cardWidth}px` }}>
      <div class="toolbar">
        <TagFilterTools
          api={api}
          value={tagFilter}
          noun="meshes"
          count={tags.data ? { shown: names.length, total: byName.size } : null}
          suggestions={[...byName.keys()]}
        />
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
        {tags.pending ? <span class="card__loading" role="status" aria-label="Loading" /> : null}
      </div>
      {tags.error && tags.data ? (
        <div class="notice notice--error">Could not refresh the meshes: {tags.error}</div>
      ) : null}
      <div class="mesh__cards">{body}</div>
    </div>
  );
}
