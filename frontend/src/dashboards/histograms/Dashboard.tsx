/**
 * The Histograms dashboard: TensorBoard's controls (histogram mode offset / overlay, the offset
 * time axis step / relative / wall, filled or outline-only ridges) and one card per run × tag;
 * "Compare runs" draws all shown runs of a tag in one card instead (offset mode: a row per run).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type { XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { useStore } from '../../core/store';
import { HistogramCard } from './Card';
import { Frame, Segmented } from './Frame';
import type { Mode } from './model';
import { TIME_AXES } from './svg';

const MODES: { value: Mode; label: string }[] = [
  { value: 'offset', label: 'Offset' },
  { value: 'overlay', label: 'Overlay' },
];

const LAYOUTS: { value: 'run' | 'tag'; label: string }[] = [
  { value: 'run', label: 'Per run' },
  { value: 'tag', label: 'Compare runs' },
];

const MODE_KEY = 'lumiboard.histograms';

interface Choices {
  mode: Mode;
  layout: 'run' | 'tag';
  /** Offset mode draws outlines only (no filled, shaded ridges). */
  outline: boolean;
}

function loadChoices(): Choices {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(MODE_KEY) ?? '{}');
    const saved = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
    return {
      mode: saved.mode === 'overlay' ? 'overlay' : 'offset',
      layout: saved.layout === 'tag' ? 'tag' : 'run',
      outline: saved.outline === true,
    };
  } catch {
    return { mode: 'offset', layout: 'run', outline: false };
  }
}

function saveChoices(choices: Choices): void {
  try {
    localStorage.setItem(MODE_KEY, JSON.stringify(choices));
  } catch {
    // storage disabled: the choice holds for this session
  }
}

export function HistogramsDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const [choices, setChoices] = useState(loadChoices);
  const xAxis = useStore(api.view, (v) => v.xAxis);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  // Dark mode changes CSS variables only; subscribing re-renders the charts' text colours.
  useStore(api.theme, (t) => t.dark);
  const update = (patch: Partial<typeof choices>) => {
    const next = { ...choices, ...patch };
    setChoices(next);
    saveChoices(next);
  };
  const toolbar = (
    <div class="hist-controls">
      <Segmented label="Mode" value={choices.mode} options={MODES} onChange={(mode) => update({ mode })} testid="hist-mode" />
      <Segmented<XAxis>
        label="Time axis"
        value={xAxis}
        options={TIME_AXES}
        onChange={(value) => api.view.set({ xAxis: value })}
        testid="time-axis"
      />
      <Segmented label="Cards" value={choices.layout} options={LAYOUTS} onChange={(layout) => update({ layout })} testid="hist-layout" />
      <label class="hist-toggle" title="Offset mode: draw each step's outline only, without the shaded fill">
        <input
          type="checkbox"
          checked={choices.outline}
          data-testid="hist-outline"
          onChange={(e) => update({ outline: (e.currentTarget as HTMLInputElement).checked })}
        />
        Outline only
      </label>
    </div>
  );
  return (
    <Frame
      api={api}
      plugin="histograms"
      what="histograms"
      perTag={choices.layout === 'tag'}
      toolbar={toolbar}
      renderCard={(card) => (
        <HistogramCard
          key={card.key}
          api={api}
          tag={card.tag}
          runs={card.runs}
          description={card.description}
          mode={choices.mode}
          xAxis={xAxis}
          colorsVersion={colorsVersion}
          outline={choices.outline}
        />
      )}
    />
  );
}
