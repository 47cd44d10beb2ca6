/**
 * Moves between the Health view and the charts: a badge opens the view filtered to its run or
 * tag; a row of the view opens its chart (Scalars, or Text for an alert) with the tag filter
 * set to that tag and the run shown, and scrolls the card into view.
 */
import type { DashboardApi } from '../core/dashboard';
import { matches, parseFilter } from '../core/regex';
import { setSelected } from '../core/selection';
import { HEALTH_TAB } from './api';
import { chartLink, NO_FILTER, type FlagFilter, type HealthFlag } from './model';
import { healthView } from './store';

/** Open the Health view with `filter` (the fields not given: any). */
export function openHealth(api: DashboardApi, filter: Partial<FlagFilter> = {}): void {
  healthView().set({ filter: { ...NO_FILTER, ...filter } });
  api.view.set({ tab: HEALTH_TAB });
}

/** How long a link waits for its card to be drawn (the dashboard loads its tags first). */
const CARD_WAIT_MS = 10_000;

/** Scroll the first card `[data-testid=<card>][data-tag=<tag>]` into view once it exists. */
function scrollToCard(card: string, tag: string): void {
  const selector = `[data-testid="${card}"][data-tag="${CSS.escape(tag)}"]`;
  const until = Date.now() + CARD_WAIT_MS;
  const attempt = () => {
    const el = document.querySelector<HTMLElement>(selector);
    if (el) {
      el.scrollIntoView({ block: 'center' });
      // Briefly outlined, so the eye finds it.
      el.classList.add('card--flash');
      setTimeout(() => el.classList.remove('card--flash'), 1600);
      return;
    }
    if (Date.now() < until) setTimeout(attempt, 100);
  };
  attempt();
}

/**
 * Open `flag`'s chart: its dashboard, the tag filter matching exactly its tag, its run shown
 * (added to the selection; the run filter cleared if it hid the run).
 */
export function openChart(api: DashboardApi, flag: HealthFlag): void {
  const link = chartLink(flag);
  const view = api.view.get();
  const runFilter = matches(parseFilter(view.runFilter).regex, flag.run) ? view.runFilter : '';
  api.view.set({
    tab: link.tab,
    tagFilter: link.tagFilter,
    runFilter,
    selection: setSelected(view.selection, [flag.run], true),
  });
  scrollToCard(link.card, flag.tag);
}
