import type { SecretEvent } from './secret-events.ts';

/**
 * A repository's secrets, pure: the caller seals the value before the command (the decider
 * never sees a clear value) and brings time and actor.
 */
export type SecretsState = { secrets: Record<string, { pullRequest: boolean; pullRequestPush: boolean }> };

type Stamp = { repoId: string; name: string; by: string; at: string };
export type SecretCommand =
  | { type: 'CreateSecret'; data: Stamp & { sealed: string; pullRequest: boolean; pullRequestPush: boolean } }
  | { type: 'UpdateSecret'; data: Stamp & { sealed?: string; pullRequest?: boolean; pullRequestPush?: boolean } }
  | { type: 'DeleteSecret'; data: Stamp };

export class SecretCommandRefused extends Error {
  override readonly name = 'SecretCommandRefused';
  constructor(
    readonly status: 404 | 409,
    message: string,
    readonly code = status === 404 ? 'not_found' : 'conflict',
  ) {
    super(message);
  }
}

export const initialSecretsState = (): SecretsState => ({ secrets: {} });

export function evolveSecrets(state: SecretsState, event: SecretEvent): SecretsState {
  const { name } = event.data;
  switch (event.type) {
    case 'SecretCreated':
      return { secrets: { ...state.secrets, [name]: { pullRequest: event.data.pullRequest, pullRequestPush: event.data.pullRequestPush } } };
    case 'SecretUpdated': {
      const old = state.secrets[name];
      if (!old) return state;
      return { secrets: { ...state.secrets, [name]: { pullRequest: event.data.pullRequest ?? old.pullRequest, pullRequestPush: event.data.pullRequestPush ?? old.pullRequestPush } } };
    }
    case 'SecretDeleted': {
      const { [name]: _gone, ...rest } = state.secrets;
      return { secrets: rest };
    }
    default: {
      const never: never = event;
      return never;
    }
  }
}

export function decideSecrets(command: SecretCommand, state: SecretsState): SecretEvent[] {
  const { name } = command.data;
  const exists = Object.hasOwn(state.secrets, name);
  switch (command.type) {
    case 'CreateSecret':
      if (exists) throw new SecretCommandRefused(409, `secret ${name} already exists: PATCH it to change its value or flags`);
      return [{ type: 'SecretCreated', data: command.data }];
    case 'UpdateSecret':
      if (!exists) throw new SecretCommandRefused(404, `secret ${name} not found`);
      return [{ type: 'SecretUpdated', data: command.data }];
    case 'DeleteSecret':
      if (!exists) throw new SecretCommandRefused(404, `secret ${name} not found`);
      return [{ type: 'SecretDeleted', data: command.data }];
    default: {
      const never: never = command;
      return never;
    }
  }
}
