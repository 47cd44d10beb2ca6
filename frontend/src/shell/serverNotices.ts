/**
 * What the server says it lacks (`/data/status`): the native scanner, a log directory that does
 * not exist. Shown as a banner under the header, and the page title names the log directory.
 */
import type { Environment, Status } from '../core/api';

export interface ServerNotice {
  key: string;
  text: string;
  /** A path, shown as code after the text, then `after`. */
  code?: string;
  after?: string;
}

/** The notices of a status: none before the first status, none for what it does not report. */
export function serverNotices(status: Status | null | undefined): ServerNotice[] {
  if (!status) return [];
  const notices: ServerNotice[] = [];
  for (const logdir of status.logdirs ?? []) {
    if (logdir.exists === false) {
      notices.push({
        key: `logdir:${logdir.path}`,
        text: 'Log directory',
        code: logdir.path,
        after: ' does not exist. Its runs appear here once it is created.',
      });
    }
  }
  if (status.native_scanner === false) {
    notices.push({
      key: 'native',
      text:
        "lumiboard's native scanner is not built, so event files are read about 100× slower. " +
        'Install a lumiboard wheel for this platform, or install a C compiler and reinstall lumiboard.',
    });
  }
  return notices;
}

/** The last part of each log directory (`/x/y/logs` → `logs`; `a:/p/one,b:/p/two` → `one, two`). */
export function logdirName(location: string): string {
  const names = location
    .split(',')
    .map((entry) => entry.trim().replace(/[/\\]+$/, ''))
    .filter((entry) => entry !== '')
    .map((entry) => entry.split(/[/\\]/).pop() || entry);
  return names.join(', ');
}

/** The page title: `--window_title` when given, else `<logdir> — lumiboard`. */
export function pageTitle(environment: Environment | null | undefined): string {
  if (environment?.window_title) return environment.window_title;
  const name = environment ? logdirName(environment.data_location) : '';
  return name ? `${name} — lumiboard` : 'lumiboard';
}
