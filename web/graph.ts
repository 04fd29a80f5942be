/**
 * Columns of a dependency graph: each node in the column after its deepest dependency, so
 * stages (pipelines' `depends_on`) and steps (steps' `depends_on`) read left to right in
 * the order they can run. Names that are not in the graph are ignored. Pure.
 */
export function layers<T>(nodes: T[], nameOf: (node: T) => string, dependsOn: (node: T) => string[]): T[][] {
  const byName = new Map(nodes.map((node) => [nameOf(node), node]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (node: T): number => {
    const name = nameOf(node);
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0; // a cycle cannot compile; draw it flat rather than loop
    visiting.add(name);
    const parents = dependsOn(node).flatMap((dep) => (byName.has(dep) ? [byName.get(dep)!] : []));
    const value = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depthOf));
    visiting.delete(name);
    depth.set(name, value);
    return value;
  };
  const columns: T[][] = [];
  for (const node of nodes) (columns[depthOf(node)] ??= []).push(node);
  return columns.filter(Boolean);
}
