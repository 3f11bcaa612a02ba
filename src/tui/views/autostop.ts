/** "30" → 30 idle minutes, "30 down" (or "30d") → tear down instead of stop, "off"/"" → cancel. */
export function parseAutostop(v: string): { idleMinutes?: number; down?: boolean; cancel?: boolean } | { error: string } {
  const s = v.trim().toLowerCase();
  if (s === '' || s === 'off' || s === 'cancel' || s === 'none') return { cancel: true };
  const m = s.match(/^(\d+)\s*(m|min|minutes)?\s*(d|down)?$/);
  if (!m) return { error: `autostop: expected minutes like "30" or "30 down", got "${v.trim()}"` };
  return { idleMinutes: Number(m[1]), down: !!m[3] };
}
