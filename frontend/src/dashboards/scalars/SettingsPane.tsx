/** The Settings pane: axes, smoothing, tooltip, outliers, layout and run aggregation. */
import type { JSX } from 'preact';
import { useCallback } from 'preact/hooks';

import type { XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { EXPERIMENT_GROUP_PATTERN, RANK_GROUP_PATTERN } from '../../charts/aggregate';
import { isSmoother, SMOOTHERS } from '../../charts/smoothing';
import { FilterInput } from '../../components/FilterInput';
import {
  CARD_WIDTH_RANGE,
  DEFAULT_SETTINGS,
  MIN_RELOAD_SECONDS,
  TOOLTIP_SORTS,
  type TooltipSort,
} from '../../core/settings';
import { MAX_SMOOTHING, clampSmoothing, type Band, type GroupBy } from '../../core/state';
import { useDraft } from '../../core/draft';
import { useStore } from '../../core/store';
import { isSnapshot } from '../../snapshot/data';
import { selectionSettings, TOOLTIP_LIMIT_RANGE } from './selection';

export interface GroupPreview {
  groups: { key: string; size: number }[];
  ungrouped: number;
}

export interface SettingsPaneProps {
  api: DashboardApi;
  preview: GroupPreview | null;
  groupColors: Map<string, string>;
}

export function SettingsPane({ api, preview, groupColors }: SettingsPaneProps): JSX.Element {
  const view = useStore(api.view, (v) => v);
  const settings = useStore(api.settings, (s) => s);
  const selectionStore = selectionSettings();
  const selection = useStore(selectionStore, (s) => s);
  const serverPeriod = useStore(api.data, (d) => d.environment?.reload_interval);
  const groupBy = view.groupBy;
  // The Experiment preset is a regex (so links and the URL keep it as one); shown by its name.
  const groupMode =
    groupBy.kind === 'regex' && groupBy.pattern === EXPERIMENT_GROUP_PATTERN ? 'experiment' : groupBy.kind;
  const groupModeShown = groupBy.kind === 'regex' && groupBy.pattern === RANK_GROUP_PATTERN ? 'ranks' : groupMode;
  const setGroupBy = (next: GroupBy) => api.view.set({ groupBy: next });
  const onRegex = useCallback((pattern: string) => api.view.set({ groupBy: { kind: 'regex', pattern } }), [api]);
  // The typed fields, committed on change (see useDraft).
  const pageSize = useDraft(settings.pageSize, (text) => {
    const n = Math.round(Number(text));
    if (n >= 1 && n <= 100) api.settings.set({ pageSize: n });
  });
  const reloadPeriod = useDraft(settings.reloadPeriod ?? '', (text) => {
    const n = Number(text);
    api.settings.set({
      reloadPeriod: text === '' ? null : Math.max(MIN_RELOAD_SECONDS, Number.isFinite(n) ? n : 30),
    });
  });
  const smoothing = useDraft(view.smoothing, (text) => api.view.set({ smoothing: clampSmoothing(Number(text)) }));
  const tooltipLimit = useDraft(selection.tooltipLimit, (text) => {
    const n = Math.round(Number(text));
    if (n >= TOOLTIP_LIMIT_RANGE.min && n <= TOOLTIP_LIMIT_RANGE.max) selectionStore.set({ tooltipLimit: n });
  });
  const separator = useDraft(groupBy.kind === 'part' ? groupBy.separator : '', (text) => {
    if (groupBy.kind === 'part' && text) setGroupBy({ ...groupBy, separator: text });
  });
  const partIndex = useDraft(groupBy.kind === 'part' ? groupBy.index : 0, (text) => {
    if (groupBy.kind === 'part') setGroupBy({ ...groupBy, index: Math.round(Number(text)) || 0 });
  });

  return (
    <aside class="settings" aria-label="Settings" data-testid="settings-pane">
      <section>
        <h3>General</h3>
        <label class="setting">
          <span>Horizontal axis</span>
          <select
            value={view.xAxis}
            data-testid="x-axis-select"
            onChange={(e) => api.view.set({ xAxis: e.currentTarget.value as XAxis })}
          >
            <option value="step">Step</option>
            <option value="relative">Relative</option>
            <option value="wall_time">Wall</option>
          </select>
        </label>
        <label class="setting setting--column">
          <span>
            Card width <output>{settings.cardWidth}px</output>
            <button
              type="button"
              class="link-button"
              data-testid="card-width-reset"
              onClick={() => api.settings.set({ cardWidth: DEFAULT_SETTINGS.cardWidth })}
            >
              reset
            </button>
          </span>
          <input
            type="range"
            min={CARD_WIDTH_RANGE.min}
            max={CARD_WIDTH_RANGE.max}
            step={CARD_WIDTH_RANGE.step}
            value={settings.cardWidth}
            data-testid="card-width"
            onInput={(e) => api.settings.set({ cardWidth: Number(e.currentTarget.value) })}
          />
        </label>
        <label
          class="setting setting--check"
          title="Click a chart to select a step (shift-click: a range) and list every run's values there"
        >
          <input
            type="checkbox"
            checked={selection.linkByStep}
            data-testid="link-by-step"
            onChange={(e) => selectionStore.set({ linkByStep: e.currentTarget.checked })}
          />
          <span>Link by step (one step selection for all cards)</span>
        </label>
        <label class="setting setting--check" title="Shift-click always selects the other end of a range">
          <input
            type="checkbox"
            checked={selection.rangeSelection}
            data-testid="range-selection"
            onChange={(e) => selectionStore.set({ rangeSelection: e.currentTarget.checked })}
          />
          <span>Range selection (a second click ends the range)</span>
        </label>
        <label class="setting">
          <span>Cards per page</span>
          <input
            type="number"
            min={1}
            max={100}
            {...pageSize}
            data-testid="page-size"
          />
        </label>
        {/* A snapshot never reloads. */}
        {isSnapshot() ? null : (
          <label class="setting">
            <span>Reload every (s)</span>
            <input
              type="number"
              min={MIN_RELOAD_SECONDS}
              step={1}
              {...reloadPeriod}
              placeholder={String(Math.max(MIN_RELOAD_SECONDS, serverPeriod || 30))}
              data-testid="reload-period"
            />
          </label>
        )}
      </section>

      <section>
        <h3>Scalars</h3>
        <div class="setting setting--column">
          <span>Smoothing</span>
          <div class="smoothing">
            <input
              type="range"
              min={0}
              max={0.99}
              step={0.01}
              value={Math.min(0.99, view.smoothing)}
              aria-label="Smoothing"
              data-testid="smoothing-slider"
              onInput={(e) => api.view.set({ smoothing: clampSmoothing(Number(e.currentTarget.value)) })}
            />
            <input
              type="number"
              min={0}
              max={MAX_SMOOTHING}
              step={0.001}
              {...smoothing}
              aria-label="Smoothing value"
              data-testid="smoothing-input"
            />
          </div>
        </div>
        <label class="setting">
          <span>Smoother</span>
          <select
            value={view.smoother}
            data-testid="smoother"
            title={SMOOTHERS.find((s) => s.value === view.smoother)?.title}
            onChange={(e) => {
              const value = e.currentTarget.value;
              if (isSmoother(value)) api.view.set({ smoother: value });
            }}
          >
            {SMOOTHERS.map((s) => (
              <option key={s.value} value={s.value} title={s.title}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label class="setting">
          <span>Tooltip sorting</span>
          <select
            value={settings.tooltipSort}
            data-testid="tooltip-sort"
            onChange={(e) => api.settings.set({ tooltipSort: e.currentTarget.value as TooltipSort })}
          >
            {TOOLTIP_SORTS.map((s) => (
              <option value={s.value}>{s.label}</option>
            ))}
          </select>
        </label>
        <label class="setting">
          <span>Tooltip rows (at most)</span>
          <input
            type="number"
            min={TOOLTIP_LIMIT_RANGE.min}
            max={TOOLTIP_LIMIT_RANGE.max}
            {...tooltipLimit}
            data-testid="tooltip-limit"
          />
        </label>
        <label class="setting setting--check">
          <input
            type="checkbox"
            checked={view.ignoreOutliers}
            data-testid="ignore-outliers"
            onChange={(e) => api.view.set({ ignoreOutliers: e.currentTarget.checked })}
          />
          <span>Ignore outliers in chart scaling</span>
        </label>
      </section>

      <section data-testid="aggregation">
        <h3>Run aggregation</h3>
        <label class="setting">
          <span>Group runs by</span>
          <select
            value={groupModeShown}
            data-testid="group-by"
            onChange={(e) => {
              const kind = e.currentTarget.value;
              // Ranks: one line per job, its spread as a min–max band (a straggler shows as its edge).
              if (kind === 'ranks') api.view.set({ groupBy: { kind: 'regex', pattern: RANK_GROUP_PATTERN }, band: 'minmax' });
              else if (kind === 'experiment') setGroupBy({ kind: 'regex', pattern: EXPERIMENT_GROUP_PATTERN });
              else if (kind === 'regex') setGroupBy({ kind, pattern: groupBy.kind === 'regex' ? groupBy.pattern : '(.*)_seed\\d+' });
              else if (kind === 'part') setGroupBy({ kind, separator: '/', index: 0 });
              else setGroupBy({ kind: 'none' });
            }}
          >
            <option value="none">None</option>
            <option value="regex">Regex</option>
            <option value="part">Name part</option>
            <option value="experiment" title="Keras's train/validation and Lightning's version_N runs as one experiment">
              Experiment
            </option>
            <option value="ranks" title="A distributed job's rank_<k> runs (SummaryWriter(ranks='separate')) as one">
              Ranks
            </option>
          </select>
        </label>
        {groupModeShown === 'ranks' ? (
          <span class="hint" data-testid="group-ranks-hint">
            A job's <code>rank_&lt;k&gt;</code> runs as one line: their mean, with a min–max band; the tooltip
            names the rank farthest from the mean, and any that ended early or run slower.
          </span>
        ) : null}
        {groupMode === 'experiment' ? (
          <span class="hint" data-testid="group-experiment-hint">
            Keras's <code>train</code>/<code>validation</code> and Lightning's <code>version_N</code> runs
            grouped under their parent directory; other runs stay single.
          </span>
        ) : null}
        {groupModeShown === 'regex' && groupBy.kind === 'regex' ? (
          <div class="setting setting--column">
            <FilterInput
              value={groupBy.pattern}
              onCommit={onRegex}
              placeholder="(.*)_seed\d+"
              label="Group regex"
              testid="group-regex"
            />
            <span class="hint">The capture groups name the group; runs that do not match stay single.</span>
          </div>
        ) : null}
        {groupBy.kind === 'part' ? (
          <div class="setting">
            <label class="setting__inline">
              <span>Split on</span>
              <input
                type="text"
                class="short"
                {...separator}
                data-testid="group-separator"
              />
            </label>
            <label class="setting__inline">
              <span>part</span>
              <input
                type="number"
                class="short"
                {...partIndex}
                data-testid="group-index"
                title="0 is the first part; -1 the last"
              />
            </label>
          </div>
        ) : null}
        {groupBy.kind !== 'none' ? (
          <>
            <label class="setting">
              <span>Band</span>
              <select
                value={view.band}
                data-testid="group-band"
                onChange={(e) => api.view.set({ band: e.currentTarget.value as Band })}
              >
                <option value="std">Mean ± std</option>
                <option value="minmax">Min – max</option>
                <option value="none">None</option>
              </select>
            </label>
            <label class="setting setting--check">
              <input
                type="checkbox"
                checked={view.showMembers}
                data-testid="group-members"
                onChange={(e) => api.view.set({ showMembers: e.currentTarget.checked })}
              />
              <span>Show member runs</span>
            </label>
            {preview ? (
              <div class="group-preview" data-testid="group-preview">
                {preview.groups.length === 0 ? (
                  <span class="hint">No run matches: nothing is grouped.</span>
                ) : (
                  <>
                    <span class="hint">
                      {preview.groups.length} group{preview.groups.length === 1 ? '' : 's'}
                      {preview.ungrouped ? `, ${preview.ungrouped} single run${preview.ungrouped === 1 ? '' : 's'}` : ''}
                    </span>
                    <ul>
                      {preview.groups.slice(0, 8).map((g) => (
                        <li key={g.key}>
                          <span class="swatch" style={{ background: groupColors.get(g.key) ?? api.colors.get(g.key) }} />
                          <span class="group-preview__name">{g.key || '(empty)'}</span>
                          <span class="group-preview__size">{g.size}</span>
                        </li>
                      ))}
                      {preview.groups.length > 8 ? <li class="hint">and {preview.groups.length - 8} more</li> : null}
                    </ul>
                  </>
                )}
                <span class="hint">
                  Mean of the group's runs at each x of any member (linear interpolation between a run's
                  points, no extrapolation).
                </span>
              </div>
            ) : null}
          </>
        ) : null}
      </section>
    </aside>
  );
}
