/**
 * The Scalars downloads of one series (TensorBoard's `scalars?run&tag&format=csv|json`), built
 * from a snapshot's columns as the server writes them: CSV with `Wall time,Step,Value`, Python's
 * `repr` of each float and `\r\n` line ends; JSON `[[wall_time, step, value], ...]` with
 * non-finite numbers as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
 */
import type { Columns } from './reduce';

/** A float as Python's `repr` writes it (`0.1`, `1.0`, `1e-05`, `1.5e+16`, `nan`, `-inf`). */
export function pythonRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // The shortest digits that read back to x (as repr): "d.ddde±x".
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const magnitude = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${body}e${exponent < 0 ? '-' : '+'}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || '0'}`;
}

function jsonNumber(x: number): string {
  if (Number.isNaN(x)) return '"NaN"';
  if (!Number.isFinite(x)) return x > 0 ? '"Infinity"' : '"-Infinity"';
  return pythonRepr(x);
}

function integer(x: number): string {
  return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
}

export function seriesCsv(columns: Columns): string {
  const lines = ['Wall time,Step,Value'];
  for (let i = 0; i < columns.step.length; i++) {
    lines.push(`${pythonRepr(columns.wall_time[i]!)},${integer(columns.step[i]!)},${pythonRepr(columns.value[i]!)}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function seriesJson(columns: Columns): string {
  const rows: string[] = [];
  for (let i = 0; i < columns.step.length; i++) {
    rows.push(`[${jsonNumber(columns.wall_time[i]!)},${integer(columns.step[i]!)},${jsonNumber(columns.value[i]!)}]`);
  }
  return `[${rows.join(',')}]`;
}
