import { compileCaicloud } from './caicloud-compile.ts';
import type { CaicloudOptions } from './caicloud-compile.ts';
import { compile } from './compile.ts';
import type { CompileResult } from './compile.ts';
import type { CompileContextInput } from './trigger.ts';

/**
 * The two config formats runlog reads, both compiled to the same `Plan`: Drone's
 * `.drone.yml` and Cyclone's `caicloud.yml`. A file is read as caicloud when its name
 * says so (`caicloud.yml`, `caicloud.yaml`, or `*.caicloud.yml`), or, under any other
 * name, when its top level has one of caicloud's stage keys and no `kind:`, `steps:` or
 * `pipeline:` (which only a Drone file has); its other keys are then caicloud's errors.
 */
export type ConfigFormat = 'drone' | 'caicloud';

export function configFormat(file: string, text: string): ConfigFormat {
  const base = file.split(/[\\/]/).pop() ?? file;
  if (/(^|\.)caicloud\.ya?ml$/i.test(base)) return 'caicloud';
  if (/^\.drone\.ya?ml$/i.test(base)) return 'drone';
  const topKeys = [...text.matchAll(/^([A-Za-z_][\w-]*)\s*:/gm)].map((match) => match[1]);
  const caicloud = new Set(['pre_build', 'build', 'integration', 'post_build', 'deploy']);
  if (topKeys.some((key) => key === 'kind' || key === 'steps' || key === 'pipeline')) return 'drone';
  return topKeys.some((key) => caicloud.has(key)) ? 'caicloud' : 'drone';
}

/** Compiles `text` in the format `configFormat` picks; `registry` is used by caicloud's image build. */
export function compileConfig(text: string, context: CompileContextInput, options: CaicloudOptions & { file: string }): CompileResult & { format: ConfigFormat } {
  const format = configFormat(options.file, text);
  const result = format === 'caicloud' ? compileCaicloud(text, context, options) : compile(text, context, { file: options.file });
  return { ...result, format };
}
