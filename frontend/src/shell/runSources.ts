/**
 * The runs the runs panel lists: the event-file runs of `data/runs`, plus the runs the profile
 * plugin finds (a directory of PyTorch traces or Keras/TF/JAX `plugins/profile/` dumps has no
 * event file, so `data/runs` omits it). Without them a log directory holding only profiles would
 * read "No runs yet", and its runs could not be selected, filtered or coloured.
 */

/** `runs` in their server order, then the profiled runs it lacks, sorted. */
export function withProfiledRuns(runs: readonly string[], profiled: readonly string[]): string[] {
  const known = new Set(runs);
  const extra = [...new Set(profiled.filter((run) => !known.has(run)))].sort();
  return [...runs, ...extra];
}
