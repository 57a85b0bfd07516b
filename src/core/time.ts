/**
 * RFC 3339 timestamps to epoch milliseconds and back, without the Date global (the core takes
 * `now` as an argument and reads no clock). Days from the civil calendar after Howard Hinnant's
 * `days_from_civil` / `civil_from_days`, exact for the proleptic Gregorian calendar.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

const MS_PER_DAY = 86_400_000;

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** Epoch milliseconds of an RFC 3339 timestamp; undefined when it does not parse. */
export function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const sign = m[9] === "-" ? -1 : 1;
    offsetMinutes = sign * (Number(m[10]) * 60 + Number(m[11]));
  }
  const days = daysFromCivil(year, month, day);
  return days * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + fraction;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** The RFC 3339 UTC form metav1.Time uses ("2025-01-01T00:00:00Z"); milliseconds when not zero. */
export function formatTime(ms: number): string {
  const days = Math.floor(ms / MS_PER_DAY);
  const rest = ms - days * MS_PER_DAY;
  const [year, month, day] = civilFromDays(days);
  const seconds = Math.floor(rest / 1000);
  const millis = rest % 1000;
  const clock = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  const frac = millis === 0 ? "" : `.${pad(millis, 3)}`;
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${clock}${frac}Z`;
}

/**
 * Seconds between two instants, to the millisecond (rollbackSeconds keeps what was measured; a
 * sub-second rollback is not 0): formatSeconds rounds it for people.
 */
export function secondsBetween(fromMs: number, toMs: number): number {
  return Math.round(toMs - fromMs) / 1000;
}

/**
 * Seconds for people: to a tenth (a hundredth under one second, so half a second never reads
 * "0s"), without trailing zeros ("12s", "3.2s", "0.48s"); the status keeps the number as measured.
 */
export function formatSeconds(seconds: number): string {
  return `${String(Number(seconds.toFixed(seconds < 1 ? 2 : 1)))}s`;
}
