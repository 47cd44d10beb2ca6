/**
 * The dashboards' tab order, shared by the app and its snapshot build: TensorBoard's
 * (tb:default.py), then any other plugin by name. Health (the flags from `data/health`, not a
 * TensorBoard plugin) comes right after Scalars. Time Series (scalars, images and histograms in
 * one view) comes next, not first as in TensorBoard: Scalars stays the tab a plain URL opens.
 */
export const TAB_ORDER = [
  'scalars', 'health', 'timeseries', 'custom_scalars', 'images', 'audio', 'graphs', 'distributions',
  'histograms', 'text', 'pr_curves', 'profile', 'hparams', 'mesh', 'projector',
];

export function orderPlugins(names: string[]): string[] {
  const rank = (name: string) => {
    const i = TAB_ORDER.indexOf(name);
    return i < 0 ? TAB_ORDER.length : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
