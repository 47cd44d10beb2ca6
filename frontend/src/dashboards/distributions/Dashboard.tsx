/** The Distributions dashboard: one card per run × tag of the histogram series, time axis control. */
import type { JSX } from 'preact';

import type { XAxis } from '../../core/api';
import type { DashboardApi } from '../../core/dashboard';
import { useStore } from '../../core/store';
import { Frame, Segmented } from '../histograms/Frame';
import { TIME_AXES } from '../histograms/svg';
import { DistributionCard } from './Card';

export function DistributionsDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const xAxis = useStore(api.view, (v) => v.xAxis);
  const colorsVersion = useStore(api.colors.store, (c) => c.version);
  useStore(api.theme, (t) => t.dark);
  const toolbar = (
    <div class="hist-controls">
      <Segmented<XAxis>
        label="Horizontal axis"
        value={xAxis}
        options={TIME_AXES}
        onChange={(value) => api.view.set({ xAxis: value })}
        testid="time-axis"
      />
    </div>
  );
  return (
    <Frame
      api={api}
      plugin="distributions"
      what="histograms"
      perTag={false}
      toolbar={toolbar}
      renderCard={(card) => (
        <DistributionCard
          key={card.key}
          api={api}
          tag={card.tag}
          run={card.runs[0] ?? ''}
          description={card.description}
          xAxis={xAxis}
          colorsVersion={colorsVersion}
        />
      )}
    />
  );
}
