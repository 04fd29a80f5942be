/**
 * Cron expressions as Drone reads them (robfig/cron): six fields with seconds —
 * `sec min hour day-of-month month day-of-week` — or five (seconds then 0, as Woodpecker and
 * crontab users write them), or a descriptor: @yearly (@annually), @monthly, @weekly,
 * @daily (@midnight), @hourly, and `@every <duration>` (Go durations: 90s, 1h30m).
 * Fields take `*`, `?` (day fields), lists `a,b`, ranges `a-b`, steps `*\/n`, `a-b/n`,
 * `a/n`, and names (JAN-DEC, SUN-SAT; 7 is Sunday too). Times are UTC, to the second.
 * When both day fields are restricted a day matches either (cron's OR), otherwise both.
 * Pure: no clock, no I/O; parsing never throws.
 */
export type CronSchedule =
  | {
      kind: 'fields';
      seconds: readonly boolean[];
      minutes: readonly boolean[];
      hours: readonly boolean[];
      days: readonly boolean[];
      months: readonly boolean[];
      weekdays: readonly boolean[];
      /** A day field written `*` or `?`: it does not restrict. */
      anyDay: boolean;
      anyWeekday: boolean;
    }
  | { kind: 'every'; seconds: number };

export type Parsed = { ok: true; schedule: CronSchedule } | { ok: false; error: string };

type Field = { name: string; min: number; max: number; names?: readonly string[] };
const FIELDS: readonly Field[] = [
  { name: 'seconds', min: 0, max: 59 },
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

const fail = (error: string): Parsed => ({ ok: false, error });

export function parseCron(input: string): Parsed {
  const text = input.trim();
  if (text === '') return fail('empty: expected six fields (sec min hour day month weekday) or a descriptor such as @hourly');
  if (text.length > 200) return fail(`too long: ${text.length} characters, at most 200`);
  if (text.startsWith('@every')) return parseEvery(text.slice('@every'.length).trim());
  if (text.startsWith('@')) {
    const expanded = DESCRIPTORS[text.toLowerCase()];
    if (!expanded) return fail(`unknown descriptor '${text}': expected one of ${Object.keys(DESCRIPTORS).join(', ')} or @every <duration>`);
    return parseCron(expanded);
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return fail(`expected 6 fields (sec min hour day month weekday) or 5 (min hour day month weekday), got ${parts.length}`);
  const fields = parts.length === 5 ? ['0', ...parts] : parts;
  const sets: boolean[][] = [];
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i]!;
    const set = parseField(fields[i]!, field);
    if (typeof set === 'string') return fail(`${field.name} '${fields[i]}': ${set}`);
    sets.push(set);
  }
  const weekdays = sets[5]!;
  if (weekdays[7]) weekdays[0] = true;
  const star = (value: string) => value === '*' || value === '?';
  return {
    ok: true,
    schedule: {
      kind: 'fields',
      seconds: sets[0]!,
      minutes: sets[1]!,
      hours: sets[2]!,
      days: sets[3]!,
      months: sets[4]!,
      weekdays: weekdays.slice(0, 7),
      anyDay: star(fields[3]!),
      anyWeekday: star(fields[5]!),
    },
  };
}

/** A field as a table of allowed values, or what is wrong with it. */
function parseField(text: string, field: Field): boolean[] | string {
  const set = new Array<boolean>(field.max + 1).fill(false);
  for (const item of text.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) return `'${item}' has more than one '/'`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^[0-9]{1,3}$/.test(stepText) || Number(stepText) === 0) return `step '${stepText}' is not a whole number from 1`;
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (range === '*' || range === '?') {
      if (range === '?' && field.name !== 'day of month' && field.name !== 'day of week') return `'?' is only for the day fields`;
      low = field.min;
      high = field.name === 'day of week' ? 6 : field.max;
    } else {
      const bounds = (range ?? '').split('-');
      if (bounds.length > 2) return `'${range}' is not a value or a range a-b`;
      const first = value(bounds[0]!, field);
      if (typeof first === 'string') return first;
      low = first;
      const second = bounds.length === 2 ? value(bounds[1]!, field) : stepText !== undefined ? field.max : first;
      if (typeof second === 'string') return second;
      high = second;
      if (high < low) return `range ${bounds.join('-')} runs backwards`;
    }
    for (let v = low; v <= high; v += step) set[v] = true;
  }
  return set;
}

function value(text: string, field: Field): number | string {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return field.name === 'month' ? named + 1 : named;
  if (!/^[0-9]{1,2}$/.test(text)) return `'${text}' is not a number${field.names ? ' or a name' : ''}`;
  const n = Number(text);
  if (n < field.min || n > field.max) return `${n} is outside ${field.min}-${field.max}`;
  return n;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Go durations to whole seconds: `90s`, `1h30m`, `2h`; at least one second. */
function parseEvery(text: string): Parsed {
  const match = text.match(/^(?:[0-9]+(?:h|m|s))+$/);
  if (!match) return fail(`@every '${text}': expected a duration such as 30s, 5m or 1h30m`);
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(h|m|s)/g)) seconds += Number(amount) * UNITS[unit!]!;
  if (seconds < 1 || seconds > 366 * 24 * 3600) return fail(`@every '${text}': expected from 1s to a year`);
  return { ok: true, schedule: { kind: 'every', seconds } };
}

/** Whether a whole-second UTC time is one of the schedule's slots (fields schedules only). */
export function matches(schedule: CronSchedule, time: Date): boolean {
  if (schedule.kind === 'every') return false;
  return (
    schedule.months[time.getUTCMonth() + 1]! &&
    dayMatches(schedule, time) &&
    schedule.hours[time.getUTCHours()]! &&
    schedule.minutes[time.getUTCMinutes()]! &&
    schedule.seconds[time.getUTCSeconds()]!
  );
}

function dayMatches(schedule: Extract<CronSchedule, { kind: 'fields' }>, time: Date): boolean {
  const day = schedule.days[time.getUTCDate()]!;
  const weekday = schedule.weekdays[time.getUTCDay()]!;
  return schedule.anyDay || schedule.anyWeekday ? day && weekday : day || weekday;
}

/** How far ahead to look before deciding an expression never matches (30 February). */
const HORIZON_YEARS = 5;

/**
 * The first slot strictly after `after` (undefined: none within five years). For `@every`
 * it is `after` plus the interval, to the second: the interval counts from the last run.
 */
export function nextAfter(schedule: CronSchedule, after: Date): Date | undefined {
  const start = Math.floor(after.getTime() / 1000) * 1000 + 1000;
  if (schedule.kind === 'every') return new Date(start - 1000 + schedule.seconds * 1000);
  const t = new Date(start);
  const limit = t.getUTCFullYear() + HORIZON_YEARS;
  // robfig's walk: move the largest unmatched field forward, resetting the smaller ones;
  // a field that wraps may have changed a larger one, so start over.
  wrap: for (;;) {
    if (t.getUTCFullYear() > limit) return undefined;
    while (!schedule.months[t.getUTCMonth() + 1]) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      if (t.getUTCFullYear() > limit) return undefined;
    }
    while (!dayMatches(schedule, t)) {
      const month = t.getUTCMonth();
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      if (t.getUTCMonth() !== month) continue wrap;
    }
    while (!schedule.hours[t.getUTCHours()]) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      if (t.getUTCHours() === 0) continue wrap;
    }
    while (!schedule.minutes[t.getUTCMinutes()]) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      if (t.getUTCMinutes() === 0) continue wrap;
    }
    while (!schedule.seconds[t.getUTCSeconds()]) {
      t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
      if (t.getUTCSeconds() === 0) continue wrap;
    }
    return t;
  }
}
