import assert from 'node:assert/strict';
import { BuildCommand, type BuildCommandInput } from '../../src/events/build-commands.ts';
import { decide } from '../../src/events/build-decider.ts';
import { BuildEvent } from '../../src/events/build-events.ts';
import { fold, type BuildState } from '../../src/events/build-state.ts';
import { IllegalCommand, type IllegalCommandCode } from '../../src/events/decider-errors.ts';

/**
 * Given/when/then at the decider (Emmett's `DeciderSpecification`):
 *   given(history).when(command).then(expectedEvents)
 *   given(history).when(command).thenThrows('stage_already_claimed')
 * Every event — history and decided — must pass its zod schema unchanged and survive a
 * JSON round trip (the store keeps jsonb), so a replay folds to the same state.
 */
export function given(...history: Array<BuildEvent | BuildEvent[]>) {
  const events = history.flat();
  events.forEach(assertStorable);
  const state = fold(events);
  return {
    state,
    when(input: BuildCommandInput) {
      const command = BuildCommand.parse(input);
      const run = () => decide(command, state);
      return {
        /** Asserts the decided events; returns the state after them. */
        then(expected: BuildEvent[]): BuildState {
          const got = run();
          got.forEach(assertStorable);
          assert.deepEqual(got, expected);
          return fold(got, state);
        },
        thenThrows(code: IllegalCommandCode, status?: number): IllegalCommand {
          let caught: unknown;
          try {
            run();
          } catch (error) {
            caught = error;
          }
          assert.ok(caught instanceof IllegalCommand, `expected IllegalCommand ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
          assert.equal(caught.code, code, caught.message);
          if (status !== undefined) assert.equal(caught.status, status);
          assert.ok(caught.message.length > 0);
          return caught;
        },
        /** The decided events, for assertions on a part of them. */
        events(): BuildEvent[] {
          const got = run();
          got.forEach(assertStorable);
          return got;
        },
      };
    },
  };
}

/** Runs commands in order from an empty stream and returns every event they decided (fails on a refusal). */
export function history(...commands: BuildCommandInput[]): BuildEvent[] {
  const events: BuildEvent[] = [];
  let state = fold([]);
  for (const input of commands) {
    const decided = decide(BuildCommand.parse(input), state);
    decided.forEach(assertStorable);
    events.push(...decided);
    state = fold(decided, state);
  }
  return events;
}

export function assertStorable(event: BuildEvent): void {
  const parsed = BuildEvent.safeParse(event);
  assert.ok(parsed.success, `${event.type} does not match its schema: ${parsed.error?.message}`);
  assert.deepEqual(parsed.data, event, `${event.type} changes when parsed (a default or an unknown key)`);
  assert.deepEqual(JSON.parse(JSON.stringify(event)), event, `${event.type} changes through JSON`);
}
