import { goQuote } from './go-quote.ts';

/**
 * The `DRONE_SEMVER_*` and `DRONE_CALVER_*` variables of a tag build, parsed exactly as
 * runner-go environ/semver.go and environ/calver.go do, so a tag that Drone reads as a
 * version reads as the same version here — including Drone's leniencies (a leading `v` is
 * dropped, `01` is 1) and its `DRONE_SEMVER_ERROR` for a tag that is not one.
 */

const int64Max = 2n ** 63n - 1n;
const int64Min = -(2n ** 63n);

/** Go's `strconv.ParseInt(s, 10, 64)` (and `Atoi` on 64-bit): an optional sign and decimal digits. */
function parseGoInt(s: string): { ok: true; value: bigint } | { ok: false; error: string } {
  if (!/^[+-]?\d+$/.test(s)) return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax` };
  const value = BigInt(s);
  if (value > int64Max || value < int64Min) {
    return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(s)}: value out of range` };
  }
  return { ok: true, value };
}

/** Splits off what follows the first `delim`, as go-semver's `splitOff`. */
function splitOff(s: string, delim: string): [string, string] {
  const at = s.indexOf(delim);
  return at === -1 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
}

const identifier = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;

/** coreos/go-semver `NewVersion` (v0.3.0, the version runner-go pins). */
function parseSemver(input: string):
  | { ok: true; major: bigint; minor: bigint; patch: bigint; preRelease: string; metadata: string }
  | { ok: false; error: string } {
  const [withoutMetadata, metadata] = splitOff(input, '+');
  const [core, preRelease] = splitOff(withoutMetadata, '-');
  const dotParts = core.split('.');
  // SplitN(version, ".", 3): the third part keeps any further dots, and then fails ParseInt.
  const parts = dotParts.length > 3 ? [dotParts[0], dotParts[1], dotParts.slice(2).join('.')] : dotParts;
  if (parts.length !== 3) return { ok: false, error: `${core} is not in dotted-tri format` };
  if (preRelease !== '' && !identifier.test(preRelease)) {
    return { ok: false, error: `failed to validate pre-release: ${preRelease} is not a valid semver identifier` };
  }
  if (metadata !== '' && !identifier.test(metadata)) {
    return { ok: false, error: `failed to validate metadata: ${metadata} is not a valid semver identifier` };
  }
  const numbers: bigint[] = [];
  for (const part of parts) {
    const parsed = parseGoInt(part);
    if (!parsed.ok) return parsed;
    numbers.push(parsed.value);
  }
  const [major, minor, patch] = numbers;
  return { ok: true, major, minor, patch, preRelease, metadata };
}

/** runner-go `versions(tag)`. */
export function semverEnvironment(tag: string): Record<string, string> {
  const version = parseSemver(tag.startsWith('v') ? tag.slice(1) : tag);
  if (!version.ok) return { DRONE_SEMVER_ERROR: version.error };
  const short = `${version.major}.${version.minor}.${version.patch}`;
  const env: Record<string, string> = {
    DRONE_SEMVER:
      short + (version.preRelease ? `-${version.preRelease}` : '') + (version.metadata ? `+${version.metadata}` : ''),
    DRONE_SEMVER_MAJOR: String(version.major),
    DRONE_SEMVER_MINOR: String(version.minor),
    DRONE_SEMVER_PATCH: String(version.patch),
    DRONE_SEMVER_SHORT: short,
  };
  if (version.preRelease) env.DRONE_SEMVER_PRERELEASE = version.preRelease;
  if (version.metadata) env.DRONE_SEMVER_BUILD = version.metadata;
  return env;
}

/** runner-go `isYear`: YY from 19 or YYYY from 2019 (Drone's minimum). */
function isYear(s: string): boolean {
  const parsed = parseGoInt(s);
  const i = parsed.ok ? parsed.value : 0n;
  return (i > 18n && i < 100n) || (i > 2018n && i < 9999n);
}

/** runner-go `calversions(tag)`: `YYYY.MM[.micro][-modifier]`. */
export function calverEnvironment(tag: string): Record<string, string> {
  const s = tag.startsWith('v') ? tag.slice(1) : tag;
  const parts = s.split('.');
  if (parts.length < 2) return {};
  const major = parts[0];
  const minor = parts[1];
  let micro = parts.length > 2 ? parts.slice(2).join('.') : '';
  let modifier = '';
  if (micro.includes('-')) [micro, modifier] = splitOff(micro, '-');
  if (!parseGoInt(major).ok || !parseGoInt(minor).ok || !isYear(major)) return {};
  const short = `${major}.${minor}` + (micro ? `.${micro}` : '');
  const env: Record<string, string> = {
    DRONE_CALVER: short + (modifier ? `-${modifier}` : ''),
    DRONE_CALVER_MAJOR_MINOR: `${major}.${minor}`,
    DRONE_CALVER_MAJOR: major,
    DRONE_CALVER_MINOR: minor,
    DRONE_CALVER_MICRO: micro,
    DRONE_CALVER_SHORT: short,
  };
  if (modifier) env.DRONE_CALVER_MODIFIER = modifier;
  return env;
}
