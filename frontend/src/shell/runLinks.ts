/**
 * Links from a run to where it came from: `data/status` says, for runs read from an MLflow
 * tracking server (`--logdir mlflow+http://...`), the URL of the run's MLflow page.
 */
import type { Status } from '../core/api';

/** The MLflow page of `run`, if it has one; only http(s) URLs are ever linked. */
export function mlflowLink(links: Status['links'], run: string): string | null {
  const url = links?.[run]?.mlflow;
  if (typeof url !== 'string') return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}
