import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesDeploy } from '../../pipeline/plan.ts';
import type { StepExit, StepOutput, StepRecord } from '../engine.ts';

/**
 * A deploy step: no container, a conversation with the Kubernetes API server, the way
 * `kubectl set image` + `kubectl rollout status` do it — a strategic-merge PATCH of the
 * deployment's pod template (containers are merged by name, so only the named ones
 * change), then the deployment read until its rollout is done (kubectl's rule:
 * observedGeneration ≥ generation, every replica updated, no old replica left, every
 * updated one available), it reports `ProgressDeadlineExceeded`, or `timeoutSeconds` pass.
 *
 * A refused token, a missing deployment or an unfinished rollout is a step failure
 * (exit 1) with the reason in the log and in `DeploymentFailed`; the bearer token comes
 * from the step's environment (`KUBERNETES_TOKEN`, a secret) and is never logged.
 */

export type DeployOptions = {
  fetch?: typeof fetch;
  /** The longest wait between two reads of the rollout (default 2 s); the first reads come sooner (250 ms, doubling). */
  pollMs?: number;
};

export const TOKEN_ENV = 'KUBERNETES_TOKEN';

export async function runDeployStep(
  deploy: KubernetesDeploy,
  env: Record<string, string>,
  output: StepOutput,
  signal: AbortSignal,
  options: DeployOptions = {},
): Promise<StepExit> {
  const fetchFn = options.fetch ?? fetch;
  const pollMs = options.pollMs ?? 2000;
  const say = (line: string) => output(new TextEncoder().encode(`${line}\n`));
  const target = `deployment ${deploy.namespace}/${deploy.deployment}${deploy.cluster ? ` on ${deploy.cluster}` : ''}`;
  const ref = { cluster: deploy.cluster, namespace: deploy.namespace, deployment: deploy.deployment, containers: deploy.containers, image: deploy.image };
  const failed = (error: string): StepExit => {
    say(`deploy failed: ${error}`);
    return { exitCode: 1, killed: false, records: [{ type: 'RecordDeployment', data: { ...ref, error } }] };
  };
  const token = env[TOKEN_ENV];
  if (!token) return failed(`no token for the cluster: ${TOKEN_ENV} is empty`);

  const url = `${deploy.host}/apis/apps/v1/namespaces/${encodeURIComponent(deploy.namespace)}/deployments/${encodeURIComponent(deploy.deployment)}`;
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  const patch = { spec: { template: { spec: { containers: deploy.containers.map((name) => ({ name, image: deploy.image })) } } } };
  say(`setting ${deploy.containers.map((name) => `${name}=${deploy.image}`).join(', ')} in ${target}`);

  const deadline = Date.now() + deploy.timeoutSeconds * 1000;
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(deploy.timeoutSeconds * 1000)]);
  try {
    const patched = await call(fetchFn, url, { method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/strategic-merge-patch+json' }, body: JSON.stringify(patch), signal: timeout });
    if (!patched.ok) return failed(patched.error);
    let last = '';
    let deployment = patched.body;
    let wait = Math.min(250, pollMs);
    for (;;) {
      const state = rollout(deployment);
      if (state.message !== last) say((last = state.message));
      if (state.done) {
        const generation = deployment.metadata?.generation;
        const record: StepRecord = { type: 'RecordDeployment', data: { ...ref, ...(generation !== undefined ? { generation } : {}) } };
        return { exitCode: 0, killed: false, records: [record] };
      }
      if (state.failed) return failed(state.message);
      if (Date.now() + wait > deadline) return failed(`the rollout did not finish in ${deploy.timeoutSeconds}s (${state.message})`);
      await sleep(wait, undefined, { signal });
      wait = Math.min(wait * 2, pollMs);
      const read = await call(fetchFn, url, { method: 'GET', headers, signal: timeout });
      if (!read.ok) return failed(read.error);
      deployment = read.body;
    }
  } catch (error) {
    if (signal.aborted) return { exitCode: 137, killed: true };
    if (timeout.aborted) return failed(`the rollout did not finish in ${deploy.timeoutSeconds}s`);
    return failed(`the API server at ${deploy.host} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type Deployment = {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: { type?: string; reason?: string; message?: string }[];
  };
};

/** kubectl's `rollout status` for a deployment, as a value. */
export function rollout(deployment: Deployment): { done: boolean; failed: boolean; message: string } {
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};
  const wanted = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  const stuck = status.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  if (stuck) return { done: false, failed: true, message: `the rollout exceeded its progress deadline: ${stuck.message ?? ''}`.trim() };
  if ((status.observedGeneration ?? 0) < generation) return { done: false, failed: false, message: 'waiting for the deployment spec update to be observed' };
  if (updated < wanted) return { done: false, failed: false, message: `waiting for the rollout: ${updated} of ${wanted} replicas updated` };
  if (total > updated) return { done: false, failed: false, message: `waiting for the rollout: ${total - updated} old replicas pending termination` };
  if (available < updated) return { done: false, failed: false, message: `waiting for the rollout: ${available} of ${updated} updated replicas available` };
  return { done: true, failed: false, message: `rolled out: ${updated} of ${wanted} replicas updated and available (generation ${generation})` };
}

async function call(fetchFn: typeof fetch, url: string, init: RequestInit): Promise<{ ok: true; body: Deployment } | { ok: false; error: string }> {
  const response = await fetchFn(url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok && typeof body === 'object' && body !== null) return { ok: true, body: body as Deployment };
  // the API server's errors are a Status object with a message
  const message = (body as { message?: string } | undefined)?.message ?? text.slice(0, 200);
  const why =
    response.status === 401 || response.status === 403
      ? `the cluster refused the token (${response.status}${message ? `: ${message}` : ''})`
      : response.status === 404
        ? `not found (404${message ? `: ${message}` : ''})`
        : response.ok
          ? 'the API server answered with something that is not a deployment'
          : `the API server answered ${response.status}${message ? `: ${message}` : ''}`;
  return { ok: false, error: `${init.method} ${new URL(url).pathname}: ${why}` };
}
