/** Inline SVG icons (no icon font, no CDN), sized by the surrounding font. */
import type { JSX } from 'preact';

function Icon({ d, title }: { d: string; title?: string }): JSX.Element {
  return (
    <svg class="icon" viewBox="0 0 24 24" aria-hidden={title ? undefined : 'true'} role={title ? 'img' : undefined}>
      {title ? <title>{title}</title> : null}
      <path d={d} />
    </svg>
  );
}

export const ReloadIcon = () => (
  <Icon d="M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.75 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4l-2.35 2.35z" />
);
export const PinIcon = () => (
  <Icon d="M16 9V4h1a1 1 0 0 0 0-2H7a1 1 0 0 0 0 2h1v5a3 3 0 0 1-3 3v2h5.97v7l1 1 1-1v-7H19v-2a3 3 0 0 1-3-3z" />
);
export const ExpandIcon = () => (
  <Icon d="M4 4h6v2H6v4H4V4zm10 0h6v6h-2V6h-4V4zM4 14h2v4h4v2H4v-6zm14 0h2v6h-6v-2h4v-4z" />
);
export const CollapseIcon = () => (
  <Icon d="M8 4h2v6H4V8h4V4zm6 0h2v4h4v2h-6V4zM4 14h6v6H8v-4H4v-2zm10 0h6v2h-4v4h-2v-6z" />
);
export const DownloadIcon = () => (
  <Icon d="M5 20h14v-2H5v2zM19 9h-4V3H9v6H5l7 7 7-7z" />
);
export const FitIcon = () => (
  <Icon d="M12 5V1L7 6l5 5V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z" />
);
export const RulerIcon = () => (
  <Icon d="M3 17h18v4H3v-4zm2 1v2h1v-2H5zm3 0v2h1v-2H8zm3 0v2h1v-2h-1zm3 0v2h1v-2h-1zm3 0v2h1v-2h-1zM3 3h2v12H3V3zm4 4h14v2H7V7zm0 4h10v2H7v-2z" />
);
export const SettingsIcon = () => (
  <Icon d="M19.14 12.94a7.14 7.14 0 0 0 0-1.88l2.03-1.58a.5.5 0 0 0 .12-.64l-1.92-3.32a.5.5 0 0 0-.6-.22l-2.39.96a7.03 7.03 0 0 0-1.63-.94l-.36-2.54A.5.5 0 0 0 13.9 2h-3.84a.5.5 0 0 0-.49.42l-.36 2.54c-.59.24-1.13.56-1.63.94l-2.39-.96a.5.5 0 0 0-.6.22L2.67 8.48a.5.5 0 0 0 .12.64l2.03 1.58a7.14 7.14 0 0 0 0 1.88l-2.03 1.58a.5.5 0 0 0-.12.64l1.92 3.32c.13.22.39.3.6.22l2.39-.96c.5.38 1.04.7 1.63.94l.36 2.54c.05.24.25.42.49.42h3.84c.24 0 .44-.18.49-.42l.36-2.54c.59-.24 1.13-.56 1.63-.94l2.39.96c.22.08.47 0 .6-.22l1.92-3.32a.5.5 0 0 0-.12-.64l-2.03-1.58zM12 15.6a3.6 3.6 0 1 1 0-7.2 3.6 3.6 0 0 1 0 7.2z" />
);
export const ExternalIcon = () => (
  <Icon d="M14 3v2h3.59l-9.83 9.83 1.41 1.41L19 6.41V10h2V3h-7zm5 16H5V5h7V3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2v-7h-2v7z" />
);
export const ChevronIcon = () => <Icon d="M7.41 8.59 12 13.17l4.59-4.58L18 10l-6 6-6-6z" />;
export const LogIcon = () => (
  <Icon d="M3 20h18v-2H5V4H3v16zm4-5c3-1 5-5 6-8s3-3 7-3v2c-3 0-4 0-5 2-1 3-3 7-8 9v-2z" />
);
