/**
 * Directed graphs of names (steps of a pipeline, pipelines of a file), where an edge points
 * from a node to what it depends on. Only names in `nodes` count; callers report unknown
 * dependencies themselves.
 */
export type Edges = (name: string) => readonly string[];

/** One cycle as a path that returns to its start (`[a, b, a]`), or undefined. Deterministic: the first found in `nodes` order. */
export function findCycle(nodes: readonly string[], edges: Edges): string[] | undefined {
  const known = new Set(nodes);
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    state.set(name, 'active');
    stack.push(name);
    for (const next of edges(name)) {
      if (!known.has(next)) continue;
      const seen = state.get(next);
      if (seen === 'active') return [...stack.slice(stack.indexOf(next)), next];
      if (seen === undefined) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of nodes) {
    if (state.has(name)) continue;
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Dependencies first; among the nodes ready at the same time, the one listed first in
 * `nodes` goes first, so a file without dependencies keeps its written order. Nodes on a
 * cycle (callers reject those first) are appended in written order.
 */
export function topologicalOrder(nodes: readonly string[], edges: Edges): string[] {
  const known = new Set(nodes);
  const placed = new Set<string>();
  const order: string[] = [];
  while (order.length < nodes.length) {
    const next = nodes.find((name) => !placed.has(name) && edges(name).every((dep) => !known.has(dep) || placed.has(dep) || dep === name));
    if (next === undefined) {
      for (const name of nodes) if (!placed.has(name)) order.push(name);
      break;
    }
    placed.add(next);
    order.push(next);
  }
  return order;
}

/**
 * Drone's `dag.Dependencies` (drone/drone trigger/dag): the dependencies of `name` with
 * every skipped one replaced by its own dependencies, so a stage after a skipped stage
 * waits for what the skipped one waited for, and no longer than that.
 */
export function dependenciesPast(name: string, edges: Edges, skipped: (name: string) => boolean, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (from: string): void => {
    for (const dep of edges(from)) {
      if (!known.has(dep) || seen.has(dep)) continue;
      seen.add(dep);
      if (skipped(dep)) walk(dep);
      else out.push(dep);
    }
  };
  walk(name);
  return [...new Set(out)];
}
