// `ports:` entries ("8080", "8000-8010", 22) → port numbers (what a cluster exposes).

/** Expands ports and ranges, sorted and unique; at most `max` ports. */
export function expandPorts(ports: Array<string | number>, max = 100): number[] {
  const out = new Set<number>();
  for (const p of ports) {
    const s = String(p).trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    if (!m) throw new Error(`ports: '${s}' is not a port or a range like 8000-8010`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (a < 1 || b > 65535 || b < a) throw new Error(`ports: '${s}' is not a valid port range`);
    for (let x = a; x <= b; x++) out.add(x);
    if (out.size > max) throw new Error(`ports: at most ${max} ports can be exposed`);
  }
  return [...out].sort((x, y) => x - y);
}
