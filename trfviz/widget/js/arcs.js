// The dependency arcs' levels: how high each arc of the parse is drawn (aligned.js draws them).

export function arcLevels(arcs) {
  // displaCy-style: an arc's level is the rank of its length among distinct lengths,
  // raised where needed so it clears the arcs nested inside it.
  const sorted = arcs.map((a, i) => ({ i, lo: Math.min(a.head, a.dependent),
    hi: Math.max(a.head, a.dependent) })).sort((a, b) => (a.hi - a.lo) - (b.hi - b.lo));
  const levels = new Array(arcs.length).fill(1);
  sorted.forEach((a, n) => {
    let level = 1;
    for (let m = 0; m < n; m++) {
      const b = sorted[m];
      if (b.lo >= a.lo && b.hi <= a.hi) level = Math.max(level, levels[b.i] + 1);
    }
    levels[a.i] = level;
  });
  return levels;
}
