import { eq } from 'drizzle-orm';
import type { Executor } from '../events/database.ts';
import type { Trigger } from '../pipeline/trigger.ts';
import { secrets } from '../projections/tables.ts';
import { secretContext, unseal, type SecretKey } from './sealed-value.ts';

export type StoredSecret = { name: string; sealed: string; pullRequest: boolean };

/**
 * Which of a repo's secrets a build may see — Drone's rule: a pull_request build (from a
 * fork or not) gets only the secrets whose `pull_request` flag is set; every other event
 * gets them all. Forks are what the rule is for: the flag stays off unless the repo's
 * admin trusts every pull request's code with the value. Pure.
 */
export function secretsForTrigger<S extends StoredSecret>(all: readonly S[], trigger: Pick<Trigger, 'event' | 'fork'>): S[] {
  return trigger.event === 'pull_request' ? all.filter((secret) => secret.pullRequest) : [...all];
}

/**
 * The clear values a build's stage is given (its runner resolves `from_secret` and masks
 * them in logs). Without a key (RUNLOG_SECRET_KEY unset) or for a value that no longer
 * opens, the secret is left out and `log` says which — by name, never by value.
 */
export async function loadBuildSecrets(
  db: Executor,
  key: SecretKey | undefined,
  repoId: string,
  trigger: Pick<Trigger, 'event' | 'fork'>,
  log: (message: string) => void = () => {},
): Promise<Record<string, string>> {
  const rows = await db.db.select({ name: secrets.name, sealed: secrets.sealed, pullRequest: secrets.pullRequest }).from(secrets).where(eq(secrets.repoId, repoId));
  const allowed = secretsForTrigger(rows, trigger);
  if (allowed.length === 0) return {};
  if (!key) {
    log(`runlog: repo ${repoId} has secrets but RUNLOG_SECRET_KEY is not set: the build gets none`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const row of allowed) {
    const value = unseal(key, row.sealed, secretContext(repoId, row.name));
    if (value === undefined) log(`runlog: secret ${row.name} of repo ${repoId} does not open with RUNLOG_SECRET_KEY (another key?): left out`);
    else out[row.name] = value;
  }
  return out;
}
