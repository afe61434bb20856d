/** Time helpers for the screens: the call timer's `m:ss` and the history's day ranges (local midnight). */

/** `m:ss` (or `h:mm:ss`) for a duration in seconds. */
export function clock(totalSecs: number): string {
  const s = Math.max(0, Math.floor(totalSecs));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n: number) => n.toString().padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** Unix seconds of local midnight `daysBack` days before `now`, and of the next local midnight after `now`. */
export function dayRange(now: number, daysBack: number): [number, number] {
  const start = new Date(now);
  start.setHours(0, 0, 0, 0);
  start.setDate(start.getDate() - daysBack);
  const end = new Date(now);
  end.setHours(24, 0, 0, 0);
  return [Math.floor(start.getTime() / 1000), Math.floor(end.getTime() / 1000)];
}

/** `MM/DD HH:mm` in local time (the same in Japanese and English, compact for tables). */
export function shortDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => n.toString().padStart(2, '0');
  return `${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
