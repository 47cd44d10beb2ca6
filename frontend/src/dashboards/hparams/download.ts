/**
 * The filtered table with its visible columns as a file, built here from what is shown:
 * `hparams_table.csv` (RFC 4180 quoting), `.json` (`{header, rows}`, TensorBoard's shape) or
 * `.tex` (TensorBoard's LaTeX table, with every special character escaped).
 */
import { saveBlob } from '../../core/download';
import type { Column, Row, Value } from './model';

export type DownloadFormat = 'csv' | 'json' | 'latex';
export const EXTENSIONS: Record<DownloadFormat, string> = { csv: 'csv', json: 'json', latex: 'tex' };
const MIME: Record<DownloadFormat, string> = {
  csv: 'text/csv',
  json: 'application/json',
  latex: 'application/x-latex',
};

export interface Sheet {
  header: string[];
  rows: Value[][];
}

/** The run column, then each visible column, for each row. */
export function sheetOf(columns: readonly { column: Column; index: number }[], rows: readonly Row[]): Sheet {
  return {
    header: ['run', ...columns.map(({ column }) => column.label)],
    rows: rows.map((row) => [row.run, ...columns.map(({ index }) => row.values[index] ?? null)]),
  };
}

export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function plainText(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return String(value);
  }
  return String(value);
}

export function toCsv(sheet: Sheet): string {
  const lines = [sheet.header, ...sheet.rows.map((row) => row.map(plainText))];
  return lines.map((line) => line.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function toJson(sheet: Sheet): string {
  const rows = sheet.rows.map((row) =>
    row.map((v) => (typeof v === 'number' && !Number.isFinite(v) ? plainText(v) : v)),
  );
  return JSON.stringify({ header: sheet.header, rows });
}

const LATEX: Record<string, string> = {
  '\\': '\\textbackslash{}',
  _: '\\_',
  '%': '\\%',
  '&': '\\&',
  $: '\\$',
  '#': '\\#',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};

export function latexEscape(text: string): string {
  return text.replace(/[\\_%&$#{}~^]/g, (c) => LATEX[c]!);
}

export function latexCell(value: Value): string {
  if (value === null) return '-';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return latexEscape(value);
  if (Number.isNaN(value)) return '$\\mathrm{NaN}$';
  if (!Number.isFinite(value)) return value > 0 ? '$+\\infty$' : '$-\\infty$';
  const text = formatG3(value);
  const e = text.indexOf('e');
  if (e >= 0) return `$${text.slice(0, e)}\\cdot 10^{${Number(text.slice(e + 1))}}$`;
  return `$${text}$`;
}

/** C's `%.3g`: 3 significant digits, exponent form outside [1e-4, 1e3). */
export function formatG3(value: number): string {
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(3)))));
  if (exponent < -4 || exponent >= 3) {
    const [mantissa, exp] = value.toExponential(2).split('e');
    return `${trimZeros(mantissa!)}e${exp}`;
  }
  return trimZeros(value.toFixed(Math.max(0, 2 - exponent)));
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export function toLatex(sheet: Sheet): string {
  const lines = [
    '\\begin{table}[tbp]',
    `\\begin{tabular}{${'l'.repeat(sheet.header.length)}}`,
    `${sheet.header.map(latexEscape).join(' & ')} \\\\ \\hline`,
    ...sheet.rows.map((row) => `${row.map(latexCell).join(' & ')} \\\\`),
    '\\hline',
    '\\end{tabular}',
    '\\end{table}',
  ];
  return lines.join('\n') + '\n';
}

export function render(sheet: Sheet, format: DownloadFormat): string {
  return format === 'csv' ? toCsv(sheet) : format === 'json' ? toJson(sheet) : toLatex(sheet);
}

/** Save `text` as `hparams_table.<ext>` through a temporary link. */
export function saveSheet(sheet: Sheet, format: DownloadFormat): void {
  saveBlob(new Blob([render(sheet, format)], { type: MIME[format] }), `hparams_table.${EXTENSIONS[format]}`);
}
