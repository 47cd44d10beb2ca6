/**
 * The Custom Scalars dashboard: the layout written with `add_custom_scalars` (every run's,
 * merged by the server), one collapsible section per category (`closed` ones start collapsed),
 * one chart per layout chart; smoothing, x axis and outlier controls shared with Scalars.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import { pluginUrl, type XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { clampSmoothing } from '../../core/state';
import { useStore } from '../../core/store';
import { useJson } from '../../core/useJson';
import { GroupToggle } from '../../components/CardGroup';
import { EmptyState } from '../../components/EmptyState';
import { LoadNotice, NoRunsSelected, Notice, useDashboardData } from '../../components/DashboardStates';
import { CustomCard, type CustomLook } from './Card';
import type { Layout } from './model';

const EXAMPLE = `    writer.add_scalar("loss/train", train_loss, step)
    writer.add_scalar("loss/val", val_loss, step)
# once, before or after the loop: which tags go on which chart
writer.add_custom_scalars({
    "Losses": {"train vs val": ["Multiline", ["loss/.*"]]},     # regexes
    "Accuracy": {"acc": ["Margin", ["acc", "acc_low", "acc_high"]]},
})`;

export function CustomScalarsDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const { loaded, shown, loading, dataLocation } = useDashboardData(api);
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  const dark = useStore(api.theme, (t) => t.dark);
  const layout = useJson<Layout>(api, pluginUrl('custom_scalars', 'layout'));
  /** Category title -> collapsed, once the user toggles it (else the layout's `closed`). */
  const [toggled, setToggled] = useState<Record<string, boolean>>({});

  const look: CustomLook = useMemo(
    () => ({
      xAxis: view.xAxis,
      smoothing: view.smoothing,
      smoother: view.smoother,
      ignoreOutliers: view.ignoreOutliers,
      tooltipSort: settings.tooltipSort,
      colorsVersion,
      dark,
    }),
    [view.xAxis, view.smoothing, view.smoother, view.ignoreOutliers, settings.tooltipSort, colorsVersion, dark],
  );
  const categories = layout.data?.category ?? [];

  let body: JSX.Element;
  if (layout.data === null || !loaded) {
    body = <LoadNotice error={layout.error} subject="the layout" loading="the layout" />;
  } else if (categories.length === 0) {
    body = (
      <EmptyState
        title="No custom scalars layout yet"
        what="custom-scalars layout"
        example={EXAMPLE}
        dataLocation={dataLocation}
        loading={loading}
      />
    );
  } else {
    body = (
      <>
        {shown.length === 0 ? <NoRunsSelected api={api} /> : null}
        {layout.error ? <Notice error>{layout.error}</Notice> : null}
        {categories.map((category, index) => {
          const key = `${index}:${category.title}`;
          const collapsed = toggled[key] ?? category.closed ?? false;
          const charts = category.chart ?? [];
          return (
            <section
              key={key}
              class={`group ${collapsed ? 'group--collapsed' : ''}`}
              data-testid="cs-category"
              data-title={category.title}
            >
              <div class="group__head">
                <GroupToggle
                  name={category.title || 'untitled'}
                  count={charts.length}
                  collapsed={collapsed}
                  onToggle={() => setToggled({ ...toggled, [key]: !collapsed })}
                />
              </div>
              {collapsed ? null : (
                <div class="cards">
                  {charts.map((chart, i) => (
                    <CustomCard key={`${i}:${chart.title}`} api={api} chart={chart} runs={shown} look={look} />
                  ))}
                </div>
              )}
            </section>
          );
        })}
      </>
    );
  }

  return (
    <div class="scalars custom-scalars" style={{ '--card-width': `${settings.cardWidth}px` }}>
      <div class="scalars__main">
        <div class="toolbar cs-controls">
          <label>
            Smoothing
            <input
              type="range"
              min={0}
              max={0.99}
              step={0.01}
              value={view.smoothing}
              data-testid="cs-smoothing"
              onInput={(e) => api.view.set({ smoothing: clampSmoothing(Number(e.currentTarget.value)) })}
            />
            <output>{view.smoothing.toFixed(2)}</output>
          </label>
          <label>
            Horizontal axis
            <select
              value={view.xAxis}
              data-testid="cs-x-axis"
              onChange={(e) => api.view.set({ xAxis: e.currentTarget.value as XAxis })}
            >
              <option value="step">Step</option>
              <option value="relative">Relative</option>
              <option value="wall_time">Wall</option>
            </select>
          </label>
          <label>
            <input
              type="checkbox"
              checked={view.ignoreOutliers}
              data-testid="cs-outliers"
              onChange={(e) => api.view.set({ ignoreOutliers: e.currentTarget.checked })}
            />
            Ignore outliers
          </label>
        </div>
        <div class="scalars__cards">{body}</div>
      </div>
    </div>
  );
}
