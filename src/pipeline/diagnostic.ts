import { z } from 'zod';

/**
 * A problem found in a `.drone.yml`, as a value: the compiler never throws on user input,
 * it reports every problem it can find at once (Woodpecker's linter does the same).
 * `document` is the 0-based index of the YAML document in the file; `line` and `column`
 * are 1-based and point into the text after variable substitution, which is what Drone
 * parses too.
 */
export const Diagnostic = z.object({
  severity: z.enum(['error', 'warning']),
  file: z.string(),
  document: z.number().int().nonnegative(),
  line: z.number().int().positive(),
  column: z.number().int().positive(),
  message: z.string(),
});
export type Diagnostic = z.infer<typeof Diagnostic>;
export type Severity = Diagnostic['severity'];

/** Where a diagnostic points, before the file name is known. */
export interface Position {
  document: number;
  line: number;
  column: number;
}

/** A diagnostic without its file: the compiler's modules produce these, `compile` adds the file. */
export type Finding = Omit<Diagnostic, 'file'>;

export function finding(severity: Severity, at: Position, message: string): Finding {
  return { severity, document: at.document, line: at.line, column: at.column, message };
}

export function hasErrors(diagnostics: readonly { severity: Severity }[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Reading order: by line, then column, errors before warnings at the same place. */
export function byPosition(a: Finding, b: Finding): number {
  return a.line - b.line || a.column - b.column || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1);
}

/** `file:line:col: severity: message`, the format compilers and editors understand. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
}
