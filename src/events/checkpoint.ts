// A follower's place in the log: the (transaction_id, global_position) pair of the last event
// it has applied. Readers resume strictly after it, in (transaction_id, global_position) order.

/** Both parts are decimal strings (xid8 and bigint do not fit a JS number). */
export interface Checkpoint {
  readonly transactionId: string;
  readonly globalPosition: string;
}

const DIGITS = /^(0|[1-9][0-9]{0,19})$/;

/** The checkpoint of a stored event: resuming after it continues with the next event. */
export function checkpointOf(event: Checkpoint): Checkpoint {
  return { transactionId: event.transactionId, globalPosition: event.globalPosition };
}

/** `"<transaction_id>:<global_position>"`, e.g. `"7381:42"`: for the CLI, logs and text columns. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  return `${checkpoint.transactionId}:${checkpoint.globalPosition}`;
}

/** Reads what `formatCheckpoint` wrote; throws a TypeError that quotes anything else. */
export function parseCheckpoint(text: string): Checkpoint {
  const [transactionId, globalPosition, ...rest] = text.split(':');
  if (rest.length > 0 || !DIGITS.test(transactionId ?? '') || !DIGITS.test(globalPosition ?? '')) {
    throw new TypeError(`expected a checkpoint "<transaction id>:<global position>" (decimal digits), got ${JSON.stringify(text)}`);
  }
  return { transactionId: transactionId!, globalPosition: globalPosition! };
}

/** Negative when `a` comes before `b` in the log, 0 when equal, positive after. null is the start. */
export function compareCheckpoints(a: Checkpoint | null, b: Checkpoint | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return compareDecimal(a.transactionId, b.transactionId) || compareDecimal(a.globalPosition, b.globalPosition);
}

function compareDecimal(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
