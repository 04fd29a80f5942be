import type { Context } from 'hono';
import { QUEUE_STREAM, queueDecider, readQueueState } from '../dispatch/queue-control.ts';
import { handleCommand } from '../server/command-handler.ts';
import { requireAdmin, type App, type AppDeps, type Env } from './app.ts';
import { stageJson } from './drone-json.ts';
import { incompleteStages } from './read-views.ts';

/**
 * Drone's queue (admins): `GET /api/queue` lists the stages waiting for or holding a runner,
 * with their platform and labels; `DELETE /api/queue` pauses it and `POST /api/queue`
 * resumes it, as Drone's routes are (and drone-node calls them); `POST /api/queue/pause`
 * and `/resume` say the same in words. Pause and resume answer 204, as Drone does. A paused
 * queue shows in `X-Queue-Paused: true` (and who paused it in `X-Queue-Paused-By`).
 */
export function registerQueueRoutes(app: App, deps: AppDeps) {
  const clock = deps.now ?? (() => new Date());

  app.get('/api/queue', async (c) => {
    requireAdmin(c.get('caller'));
    const [rows, state] = await Promise.all([incompleteStages(deps.database), readQueueState(deps.database)]);
    c.header('X-Queue-Paused', String(state.paused));
    if (state.paused) c.header('X-Queue-Paused-By', state.by);
    return c.json(
      rows.map(({ stage, number, slug }) => {
        const { steps: _steps, ...json } = stageJson(stage, []);
        return { ...json, repo_slug: slug, build_number: number };
      }),
    );
  });

  async function control(c: Context<Env>, type: 'PauseQueue' | 'ResumeQueue') {
    const { login } = requireAdmin(c.get('caller'));
    await handleCommand(deps.store, QUEUE_STREAM, queueDecider, { type, data: { by: login, at: clock().toISOString() } }, { actor: login });
    return c.body(null, 204);
  }
  app.delete('/api/queue', (c) => control(c, 'PauseQueue'));
  app.post('/api/queue', (c) => control(c, 'ResumeQueue'));
  app.post('/api/queue/pause', (c) => control(c, 'PauseQueue'));
  app.post('/api/queue/resume', (c) => control(c, 'ResumeQueue'));
}
