import { z } from 'zod';

/**
 * What the store keeps beside an event's data (`metadata jsonb`): who and what caused it.
 * Never used by deciders — only for audit and tracing — so every field is optional.
 */
export const EventMetadata = z.object({
  /** The user, token or service that issued the command ('system:reaper', 'user:alice'). */
  actor: z.string().optional(),
  /** Shared by every event that one outside request led to (a webhook, an API call). */
  correlationId: z.string().optional(),
  /** Id of the event or command that directly caused this one. */
  causationId: z.string().optional(),
  /** The runner that reported it, for runner-side commands. */
  runnerId: z.string().optional(),
  /** The HTTP request id, for matching with access logs. */
  requestId: z.string().optional(),
});
export type EventMetadata = z.infer<typeof EventMetadata>;
