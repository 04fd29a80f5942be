/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or those named on the command line) one
 * after another. Each prints runlog's figure next to the raw operation it wraps, measured
 * side by side in the same run, and the ratio; none of them is a test. `--quick` asks the
 * benches that know it for small counts.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const folder = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const benches = readdirSync(folder)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.some((name) => file.startsWith(name)))
  .sort();

for (const file of benches) {
  console.log(`\n== ${file.replace('.bench.ts', '')} ==`);
  const bench = (await import(new URL(file, import.meta.url).href)) as { run(): Promise<void> };
  await bench.run();
}
