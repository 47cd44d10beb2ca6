/**
 * The Images dashboard: a card per run × tag with the image of the chosen step and sample, a
 * global step slider, and brightness / contrast / actual-size controls shared by every card.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';

import type { DashboardApi } from '../../core/dashboard';
import { ImageCard, type ImageLook } from './ImageCard';
import { MediaDashboard } from './media';

const EXAMPLE = `    img = batch[0]            # [3, H, W] floats in [0, 1], or uint8
    writer.add_image("samples", img, step)`;

const DEFAULT_LOOK: ImageLook = { brightness: 1, contrast: 1, actualSize: false };

/** A 0–3 range input of the toolbar (brightness, contrast). */
function LookSlider({
  label,
  title,
  value,
  testid,
  onInput,
}: {
  label: string;
  title: string;
  value: number;
  testid: string;
  onInput(value: number): void;
}): JSX.Element {
  return (
    <label class="image-tools__slider" title={title}>
      {label}
      <input
        type="range"
        min={0}
        max={3}
        step={0.05}
        value={value}
        data-testid={testid}
        onInput={(e) => onInput(Number(e.currentTarget.value))}
      />
    </label>
  );
}

export function ImagesDashboard({ api }: { api: DashboardApi }): JSX.Element {
  const [look, setLook] = useState<ImageLook>(DEFAULT_LOOK);
  const tools = useMemo(
    () => (
      <div class="image-tools">
        <LookSlider
          label="Brightness"
          title="Brightness (CSS filter, the image's bytes are unchanged)"
          value={look.brightness}
          testid="brightness"
          onInput={(value) => setLook((l) => ({ ...l, brightness: value }))}
        />
        <LookSlider
          label="Contrast"
          title="Contrast (CSS filter)"
          value={look.contrast}
          testid="contrast"
          onInput={(value) => setLook((l) => ({ ...l, contrast: value }))}
        />
        <button
          type="button"
          class="button"
          data-testid="image-reset"
          disabled={look.brightness === 1 && look.contrast === 1}
          onClick={() => setLook((l) => ({ ...l, brightness: 1, contrast: 1 }))}
        >
          Reset
        </button>
        <label class="image-tools__toggle">
          <input
            type="checkbox"
            checked={look.actualSize}
            data-testid="actual-size"
            onChange={(e) => setLook((l) => ({ ...l, actualSize: e.currentTarget.checked }))}
          />
          Actual size
        </label>
      </div>
    ),
    [look],
  );
  return (
    <MediaDashboard
      api={api}
      plugin="images"
      noun="images"
      example={EXAMPLE}
      tools={tools}
      renderCard={(props) => <ImageCard {...props} look={look} />}
    />
  );
}
