/** One run × tag of the Images dashboard: the image at the chosen step and sample. */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import { useJson } from '../../core/useJson';
import { mediaUrl } from '../../snapshot/media';
import { cardKey, MediaCardControls, MediaCardHead, useRunColor, type MediaCardProps, type MediaCardState } from './media';
import { clampSample, imageFilter, shownIndex, sortByStep, type StepEntry } from './steps';

export interface ImageEntry extends StepEntry {
  width?: number;
  height?: number;
}

/** What every image card shares: the toolbar's adjustments. */
export interface ImageLook {
  brightness: number;
  contrast: number;
  actualSize: boolean;
}

/** Steps and sample of one media card, following the global slider and live reloads. */
export function useStepChoice<T extends StepEntry>(
  props: MediaCardProps,
  entries: readonly T[] | null,
): { sorted: T[]; index: number; setIndex(index: number): void } {
  const { run, tag, global, onSteps } = props;
  const sorted = useMemo(() => sortByStep(entries ?? []), [entries]);
  const steps = useMemo(() => sorted.map((e) => e.step), [sorted]);
  // The step picked (null: the newest, so new steps show as they arrive).
  const [selected, setSelected] = useState<number | null>(null);
  useEffect(() => {
    if (global !== null) setSelected(global.step);
  }, [global?.seq]);
  const key = cardKey(run, tag);
  useEffect(() => {
    if (entries !== null) onSteps(key, steps);
  }, [key, steps.join(), entries !== null]);
  useEffect(() => () => onSteps(key, null), [key]);
  const index = shownIndex(steps, selected);
  return {
    sorted,
    index,
    setIndex(i) {
      setSelected(i >= steps.length - 1 ? null : (steps[i] ?? null));
    },
  };
}

/** A media card's state: the sample chosen, its listing (`/<plugin>/<route>`), the step shown. */
export function useMediaCard<T extends StepEntry>(
  props: MediaCardProps,
  plugin: 'images' | 'audio',
  route: string,
): MediaCardState<T> {
  const { api, run, tag, info } = props;
  const color = useRunColor(api, run);
  const [sampleChoice, setSample] = useState(0);
  const sample = clampSample(sampleChoice, info.samples);
  const listing = useJson<T[]>(api, pluginUrl(plugin, route, { run, tag, sample }));
  const { sorted, index, setIndex } = useStepChoice(props, listing.data);
  const entry = index >= 0 ? sorted[index] : undefined;
  return { color, sample, setSample, listing, sorted, index, setIndex, entry };
}

export function ImageCard(props: MediaCardProps & { look: ImageLook }): JSX.Element {
  const { run, tag, info, look } = props;
  const card = useMediaCard<ImageEntry>(props, 'images', 'images');
  const { color, sample, listing, entry } = card;
  const [natural, setNatural] = useState<{ src: string; width: number; height: number; shown: number } | null>(null);
  const src = entry ? mediaUrl(`data/plugin/images/individualImage?${entry.query}`) : null;
  const width = entry?.width ?? (natural?.src === src ? natural?.width : undefined);
  const height = entry?.height ?? (natural?.src === src ? natural?.height : undefined);
  // Small images (masks, MNIST digits) are scaled up to the card's width: keep their pixels
  // sharp. A plot scaled up a little stays smooth.
  const upscaled =
    natural !== null && natural.src === src && natural.shown > natural.width && (natural.width < 128 || natural.shown >= 4 * natural.width);

  return (
    <div
      class="card media-card image-card"
      data-testid="image-card"
      data-run={run}
      data-tag={tag}
      data-step={entry?.step ?? ''}
      data-sample={sample}
    >
      <MediaCardHead run={run} tag={tag} info={info} color={color} />
      <div
        class={`image-card__frame ${look.actualSize ? 'image-card__frame--actual' : ''}`}
        style={{ borderColor: color }}
      >
        {src ? (
          <img
            key={src}
            src={src}
            alt={`${tag} at step ${entry?.step ?? ''} (${run})`}
            class={`image-card__img ${upscaled && !look.actualSize ? 'image-card__img--pixelated' : ''}`}
            style={{ filter: imageFilter(look.brightness, look.contrast) }}
            data-testid="image"
            data-step={entry?.step}
            onLoad={(e) => {
              const img = e.currentTarget;
              setNatural({ src: img.getAttribute('src') ?? '', width: img.naturalWidth, height: img.naturalHeight, shown: img.clientWidth });
            }}
          />
        ) : (
          <div class="card__placeholder">
            {listing.error ? `Could not load: ${listing.error}` : listing.pending ? 'Loading…' : 'No image'}
          </div>
        )}
      </div>
      <MediaCardControls card={card} samples={info.samples} sampleLabel="sample" />
      <div class="card__foot">
        <span data-testid="image-info">
          {width !== undefined && height !== undefined ? `${width}×${height} px` : ''}
        </span>
        {listing.error && entry ? <span class="card__error">{listing.error}</span> : null}
      </div>
    </div>
  );
}
