/**
 * Drone's `BytesSize` (runner-go `manifest/unit.go`): a YAML integer is a byte count, a
 * string is read by docker/go-units `RAMInBytes` — binary multiples, an optional `i` and
 * `b`, any case, one optional space: "1g", "512MiB", "2 GB", "1.5k".
 * Returns undefined when the text is not a size.
 */
const SIZE = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

export function parseByteSize(text: string): number | undefined {
  const match = SIZE.exec(text);
  if (!match) return undefined;
  const unit = match[2]?.toLowerCase();
  const bytes = Number(match[1]) * 1024 ** (unit ? POWER[unit] : 0);
  // go-units truncates the float product to int64.
  return Number.isFinite(bytes) && bytes <= Number.MAX_SAFE_INTEGER ? Math.trunc(bytes) : undefined;
}
