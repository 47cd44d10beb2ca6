/** One run × tag of the Audio dashboard: a player for the clip at the chosen step and sample. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { pluginUrl } from '../../core/api';
import { formatWallTime } from '../../core/format';
import { useJson } from '../../core/useJson';
import { StepSlider } from '../../components/StepSlider';
import { useStepChoice } from '../images/ImageCard';
import { useRunColor, type MediaCardProps } from '../images/media';
import { clampSample, describeClip, type StepEntry } from '../images/steps';

export interface AudioEntry extends StepEntry {
  label: string;
  contentType: string;
  sampleRate: number | null;
  channels: number | null;
  bitsPerSample: number | null;
  duration: number | null;
}

export function AudioCard(props: MediaCardProps): JSX.Element {
  const { api, run, tag, info } = props;
  const color = useRunColor(api, run);
  const [sampleChoice, setSample] = useState(0);
  const sample = clampSample(sampleChoice, info.samples);
  const listing = useJson<AudioEntry[]>(api, pluginUrl('audio', 'audio', { run, tag, sample }));
  const { sorted, index, setIndex } = useStepChoice(props, listing.data);
  const entry = index >= 0 ? sorted[index] : undefined;
  const src = entry ? `data/plugin/audio/individualAudio?${entry.query}` : null;
  const meta = entry ? describeClip(entry) : '';

  return (
    <div
      class="card media-card audio-card"
      data-testid="audio-card"
      data-run={run}
      data-tag={tag}
      data-step={entry?.step ?? ''}
      data-sample={sample}
    >
      <div class="card__head">
        <div class="card__titles">
          <div class="card__title" title={tag} data-testid="card-title">
            {info.displayName && info.displayName !== tag ? info.displayName : tag}
          </div>
          <div class="media-card__run" title={run}>
            <span class="media-card__swatch" style={{ background: color }} data-testid="run-swatch" />
            <span class="media-card__run-name">{run}</span>
          </div>
          {info.description ? (
            <div class="card__description" title={info.description}>
              {info.description}
            </div>
          ) : null}
        </div>
      </div>
      <div class="audio-card__player" style={{ borderColor: color }}>
        {src ? (
          // The source changes with the step: a new element, so the player never plays a stale clip.
          <audio key={src} controls preload="metadata" src={src} data-testid="audio" />
        ) : (
          <div class="audio-card__placeholder">
            {listing.error ? `Could not load: ${listing.error}` : listing.pending ? 'Loading…' : 'No clip'}
          </div>
        )}
        {entry?.label ? (
          // Shown as text: a label is never rendered as HTML or markdown.
          <div class="audio-card__label" data-testid="audio-label">
            {entry.label}
          </div>
        ) : null}
      </div>
      <div class="media-card__controls">
        <StepSlider
          steps={sorted.map((e) => e.step)}
          wallTimes={sorted.map((e) => e.wall_time)}
          index={index}
          onChange={setIndex}
        />
        {info.samples > 1 ? (
          <label class="media-card__sample">
            clip
            <input
              type="number"
              min={0}
              max={info.samples - 1}
              value={sample}
              data-testid="sample-index"
              onInput={(e) => setSample(Number(e.currentTarget.value))}
            />
            <span>of {info.samples}</span>
          </label>
        ) : null}
      </div>
      <div class="card__foot">
        <span data-testid="audio-meta">{meta}</span>
        <span>{entry ? formatWallTime(entry.wall_time) : ''}</span>
      </div>
    </div>
  );
}
