/**
 * A dashboard's `mount(el, api)` from its Preact component, inside an error boundary: a bug
 * in one dashboard shows an error notice with a way back, not a blank page.
 */
import { render, type ComponentType, type JSX } from 'preact';
import { useErrorBoundary } from 'preact/hooks';

import type { DashboardApi, Mount } from '../core/dashboard';

function Guard({ children }: { children: JSX.Element }): JSX.Element {
  const [error, reset] = useErrorBoundary((e: unknown) => console.error(e));
  if (error) {
    const message = error instanceof Error ? error.message : String(error);
    return (
      <div class="notice notice--error" role="alert" data-testid="dashboard-crashed">
        This dashboard hit a bug and stopped: {message}{' '}
        <button type="button" class="button" onClick={reset}>
          Try again
        </button>
      </div>
    );
  }
  return children;
}

export function mountDashboard(Dashboard: ComponentType<{ api: DashboardApi }>): Mount {
  return (el, api) => {
    render(
      <Guard>
        <Dashboard api={api} />
      </Guard>,
      el,
    );
    return () => render(null, el);
  };
}
