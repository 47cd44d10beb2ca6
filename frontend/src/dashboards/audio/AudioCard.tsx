/** One run × tag of the Audio dashboard: a player for the clip at the chosen step and sample. */
import type { JSX } from 'preact';

import { formatWallTime } from '../../core/format';
import { useMediaCard } from '../images/ImageCard';
import { MediaCardControls, MediaCardHead, type MediaCardProps } from '../images/media';
import { describeClip, type StepEntry } from '../images/steps';
import { mediaUrl } from '../../snapshot/media';

export interface AudioEntry extends StepEntry {
  label: string;
  contentType: string;
  sampleRate: number | null;
  channels: number | null;
  bitsPerSample: number | null;
  duration: number | null;
}

export function AudioCard(props: MediaCardProps): JSX.Element {
  const { run, tag, info } = props;
  const card = useMediaCard<AudioEntry>(props, 'audio', 'audio');
  const { color, sample, listing, entry } = card;
  const src = entry ? mediaUrl(`data/plugin/audio/individualAudio?${entry.query}`) : null;
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
      <MediaCardHead run={run} tag={tag} info={info} color={color} />
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
      <MediaCardControls card={card} samples={info.samples} sampleLabel="clip" />
      <div class="card__foot">
        <span data-testid="audio-meta">{meta}</span>
        <span>{entry ? formatWallTime(entry.wall_time) : ''}</span>
      </div>
    </div>
  );
}
