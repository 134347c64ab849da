/**
 * Cycles and the implementation order. Tarjan's algorithm (iterative, so deep import chains
 * cannot overflow the stack) over files and neighbours visited in path order, then Kahn's
 * algorithm over the components, always taking the ready component with the smallest path.
 * Both are deterministic for a given set of files and edges.
 */

/** `deps.get(f)`: the files f imports, sorted; every file is a key. */
export type Dependencies = ReadonlyMap<string, readonly string[]>;

/** Strongly connected components; each sorted by path, the list sorted by first member. */
export function stronglyConnected(files: readonly string[], deps: Dependencies): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;

  for (const root of files) {
    if (index.has(root)) continue;
    // Each frame is a file and the position of the next neighbour to visit.
    const frames: Array<{ file: string; i: number }> = [{ file: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (frames.length) {
      const frame = frames[frames.length - 1];
      const neighbours = deps.get(frame.file) ?? [];
      if (frame.i < neighbours.length) {
        const n = neighbours[frame.i++];
        if (!index.has(n)) {
          index.set(n, next);
          low.set(n, next++);
          stack.push(n);
          onStack.add(n);
          frames.push({ file: n, i: 0 });
        } else if (onStack.has(n)) {
          low.set(frame.file, Math.min(low.get(frame.file)!, index.get(n)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.file, Math.min(low.get(parent.file)!, low.get(frame.file)!));
      if (low.get(frame.file) === index.get(frame.file)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.file);
        components.push(component.sort(compare));
      }
    }
  }
  return components.sort((a, b) => compare(a[0], b[0]));
}

/**
 * Dependencies first; a component's files adjacent. Among ready components, one whose weak
 * dependencies (`weak`: lazy or guarded imports, never in `deps`) are all placed comes first, then
 * the smallest path. When every ready component still waits on a weak dependency, one that others
 * weakly wait for goes first (then the fewest weak dependencies left, then the smallest path):
 * weak dependencies order ties, never hold a component back.
 */
export function implementationOrder(components: readonly string[][], deps: Dependencies, weak: Dependencies = new Map()): string[] {
  const componentOf = new Map<string, number>();
  components.forEach((c, i) => c.forEach((f) => componentOf.set(f, i)));
  const waitingOn = components.map(() => 0);
  const dependents = components.map(() => new Set<number>());
  components.forEach((members, i) => {
    const needed = new Set<number>();
    for (const f of members) for (const d of deps.get(f) ?? []) needed.add(componentOf.get(d)!);
    needed.delete(i);
    waitingOn[i] = needed.size;
    for (const d of needed) dependents[d].add(i);
  });

  // Components are sorted by first member, so a smaller index means a smaller path.
  const ready: number[] = [];
  const insert = (c: number) => {
    let lo = 0;
    let hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ready[mid] < c) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, c);
  };
  waitingOn.forEach((n, i) => n === 0 && ready.push(i));
  const order: string[] = [];
  if (weak.size === 0) {
    while (ready.length) {
      const c = ready.shift()!;
      order.push(...components[c]);
      for (const d of dependents[c]) if (--waitingOn[d] === 0) insert(d);
    }
    return order;
  }
  // Weak dependencies of each component on other components, counted down as they are placed.
  const weakWaiting = components.map(() => 0);
  const weakDependents = components.map(() => new Set<number>());
  components.forEach((members, i) => {
    const needed = new Set<number>();
    for (const f of members) for (const d of weak.get(f) ?? []) needed.add(componentOf.get(d)!);
    needed.delete(i);
    weakWaiting[i] = needed.size;
    for (const d of needed) weakDependents[d].add(i);
  });
  const placed = new Set<number>();
  // Unplaced components that weakly need c: placing c first satisfies them.
  const wanted = (c: number) => [...weakDependents[c]].some((d) => !placed.has(d));
  while (ready.length) {
    let pick = ready.findIndex((c) => weakWaiting[c] === 0);
    if (pick === -1) {
      // Every ready component waits on a weak dependency: take one that others wait for, with
      // the fewest weak dependencies left, then the smallest path (ready is sorted by path).
      let best = Infinity;
      ready.forEach((c, i) => {
        const score = (wanted(c) ? 0 : 1_000_000) + weakWaiting[c];
        if (score < best) {
          best = score;
          pick = i;
        }
      });
    }
    const c = ready.splice(pick, 1)[0];
    placed.add(c);
    order.push(...components[c]);
    for (const d of weakDependents[c]) weakWaiting[d]--;
    for (const d of dependents[c]) if (--waitingOn[d] === 0) insert(d);
  }
  return order;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
