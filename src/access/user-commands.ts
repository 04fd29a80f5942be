import type { EventStore } from '../events/event-store.ts';
import { handleCommand, type Decider } from '../server/command-handler.ts';
import { decideUser, evolveUser, initialUserState, type UserCommand, type UserState } from './user-decider.ts';
import { UserEvent, userStreamId } from './user-events.ts';

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  decide: decideUser,
  evolve: evolveUser,
  initialState: initialUserState,
  read: (stored) => UserEvent.parse({ type: stored.type, data: stored.data }),
};

export const handleUserCommand = (store: EventStore, login: string, command: UserCommand) =>
  handleCommand(store, userStreamId(login), userDecider, command, { actor: command.data.by });
