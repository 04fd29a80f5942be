import { readFile } from 'node:fs/promises';

/** The `.drone.yml` a command was pointed at, or a message that says why it cannot be read. */
export async function readPipelineFile(file: string): Promise<{ ok: true; text: string } | { ok: false; message: string }> {
  try {
    return { ok: true, text: await readFile(file, 'utf8') };
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ENOENT') return { ok: false, message: `${file}: no such file; run in the repository's root or name the file (runlog lint path/to/.drone.yml)` };
    if (code === 'EISDIR') return { ok: false, message: `${file}: is a directory; name the pipeline file` };
    return { ok: false, message: `${file}: cannot be read: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
}
