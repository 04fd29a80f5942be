/**
 * A step's `commands` → the one script its container runs, as drone-runner-docker's
 * `engine/compiler/shell` builds it: write the clone credentials to `~/.netrc` when the
 * runner provides them, unset the variables that carried them and the script itself, stop
 * at the first failing command (`set -e`), and print each command as `+ command` before
 * running it. Drone runs the script with `/bin/sh -c 'echo "$DRONE_SCRIPT" | /bin/sh'`.
 *
 * One deliberate difference: Drone quotes the trace with Go's `%q` (a double-quoted
 * string), so a command holding backticks or `$(...)` is *executed* by the `echo` before
 * it runs (drone-runner-docker PR #51). We single-quote it, which prints the same line for
 * every ordinary command and runs nothing twice.
 */
export function posixScript(commands: readonly string[]): string {
  const lines = [
    '',
    'if [ -n "${DRONE_NETRC_FILE}" ]; then',
    '\techo "${DRONE_NETRC_FILE}" > "${HOME}/.netrc"',
    '\tchmod 600 "${HOME}/.netrc"',
    'fi',
    '',
    'unset DRONE_SCRIPT',
    'unset DRONE_NETRC_MACHINE',
    'unset DRONE_NETRC_USERNAME',
    'unset DRONE_NETRC_PASSWORD',
    'unset DRONE_NETRC_FILE',
    '',
    'set -e',
  ];
  for (const command of commands) lines.push('', `echo + ${shellQuote(command)}`, command);
  return `${lines.join('\n')}\n`;
}

/**
 * Windows containers: Drone's `shell/powershell` script — stop on errors, and after each
 * native command exit with its code, since PowerShell does not stop on those by itself.
 */
export function powershellScript(commands: readonly string[]): string {
  const lines = [
    '',
    'if ($Env:DRONE_NETRC_MACHINE) {',
    '@"',
    'machine $Env:DRONE_NETRC_MACHINE',
    'login $Env:DRONE_NETRC_USERNAME',
    'password $Env:DRONE_NETRC_PASSWORD',
    '"@ > (Join-Path $Env:USERPROFILE \'.netrc\');',
    '}',
    '[Environment]::SetEnvironmentVariable("DRONE_NETRC_USERNAME", $null);',
    '[Environment]::SetEnvironmentVariable("DRONE_NETRC_PASSWORD", $null);',
    '[Environment]::SetEnvironmentVariable("DRONE_SCRIPT", $null);',
    '',
    '$erroractionpreference = "stop"',
  ];
  for (const command of commands) {
    lines.push('', `echo ${powershellQuote(`+ ${command}`)}`, command, 'if ($LastExitCode -gt 0) { exit $LastExitCode }');
  }
  return `${lines.join('\n')}\n`;
}

/** POSIX single quotes: nothing inside is expanded; a `'` closes, is escaped, and reopens. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** PowerShell single-quoted string: `''` is a literal quote. */
function powershellQuote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
