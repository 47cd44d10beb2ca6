/** The Audio dashboard: a player per run × tag, with step and clip choice and the WAV's format. */
import type { JSX } from 'preact';

import type { DashboardApi } from '../../core/dashboard';
import { MediaDashboard } from '../images/media';
import { AudioCard } from './AudioCard';

const EXAMPLE = `    wav = model.generate()    # [samples] floats in [-1, 1]
    writer.add_audio("speech", wav, step, sample_rate=16000)`;

export function AudioDashboard({ api }: { api: DashboardApi }): JSX.Element {
  return (
    <MediaDashboard
      api={api}
      plugin="audio"
      noun="audio"
      example={EXAMPLE}
      renderCard={(props) => <AudioCard {...props} />}
    />
  );
}
