/** The banner of what the server lacks (see serverNotices): refreshed with every status poll. */
import type { JSX } from 'preact';

import type { DashboardApi } from '../core/dashboard';
import { useStore } from '../core/store';
import { isSnapshot } from '../snapshot/data';
import { serverNotices } from './serverNotices';

export function ServerBanner({ api }: { api: DashboardApi }): JSX.Element | null {
  const status = useStore(api.data, (d) => d.status);
  const notices = isSnapshot() ? [] : serverNotices(status);
  if (notices.length === 0) return null;
  return (
    <div class="server-banner" role="alert" data-testid="server-banner">
      {notices.map((notice) => (
        <p key={notice.key} class="server-banner__line" data-testid={`server-notice-${notice.key.split(':')[0]}`}>
          {notice.text}
          {notice.code ? (
            <>
              {' '}
              <code>{notice.code}</code>
            </>
          ) : null}
          {notice.after ?? ''}
        </p>
      ))}
    </div>
  );
}
