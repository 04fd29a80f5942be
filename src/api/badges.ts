// A repo's latest build as a status badge (SVG) and as a CCTray feed (cc.xml, for CCMenu and
// friends): Drone's words and colours, so READMEs that embed Drone's badges keep their look.
// Pure.

/** Drone's badge words: pending, running and blocked builds have "started"; killed ones fail. */
export type BadgeWord = 'passing' | 'failing' | 'started' | 'error' | 'none';

export function badgeWord(status: string | undefined): BadgeWord {
  switch (status) {
    case undefined:
      return 'none';
    case 'pending':
    case 'running':
    case 'blocked':
      return 'started';
    case 'success':
      return 'passing';
    case 'error':
      return 'error';
    default:
      return 'failing';
  }
}

const COLOURS: Record<BadgeWord, string> = { passing: '#4c1', failing: '#e05d44', started: '#dfb317', error: '#9f9f9f', none: '#9f9f9f' };

/** Verdana 11px advances are about 6-7 px a letter; shields.io pads each side by 6 px. */
const width = (text: string) => Math.round(text.length * 6.5) + 12;

export function statusSvg(word: BadgeWord, label = 'build'): string {
  const left = width(label);
  const right = width(word);
  const total = left + right;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total}" height="20" role="img" aria-label="${label}: ${word}">` +
    `<title>${label}: ${word}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${total}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${left}" height="20" fill="#555"/><rect x="${left}" width="${right}" height="20" fill="${COLOURS[word]}"/><rect width="${total}" height="20" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">` +
    `<text x="${left / 2}" y="15" fill="#010101" fill-opacity=".3">${label}</text><text x="${left / 2}" y="14">${label}</text>` +
    `<text x="${left + right / 2}" y="15" fill="#010101" fill-opacity=".3">${word}</text><text x="${left + right / 2}" y="14">${word}</text>` +
    `</g></svg>`
  );
}

export type CcBuild = { number: number; status: string; started: number; created: number };

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** CCTray's one-project feed, as Drone writes it (`Projects/Project` with the last build's attributes). */
export function ccXml(project: { slug: string; webUrl: string }, build: CcBuild | undefined): string {
  let activity = 'Sleeping';
  let status = 'Unknown';
  if (build) {
    if (['pending', 'running', 'blocked'].includes(build.status)) activity = 'Building';
    else if (build.status === 'success') status = 'Success';
    else if (build.status === 'failure') status = 'Failure';
    else status = 'Exception';
  }
  const seconds = build ? build.started || build.created : 0;
  const attributes = [
    ['name', project.slug],
    ['activity', activity],
    ['lastBuildStatus', status],
    ['lastBuildLabel', build ? String(build.number) : ''],
    ['lastBuildTime', seconds ? new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z') : ''],
    ['webUrl', project.webUrl],
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Projects><Project ${attributes.map(([key, value]) => `${key}="${escapeXml(value!)}"`).join(' ')}></Project></Projects>\n`;
}
