// Services in `aloft top` (issue 12): the reducer keeps them, `:services` lists each with its
// endpoint, version, replicas by state, QPS and p50, the replicas beneath; l follows a replica's
// output (or the controller's log), b the load balancer's, ^D tears a service down after asking.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { EventStreamMessage } from '../../src/protocol/api.js';
import { replicasByState, serviceRow, serviceRows } from '../../src/tui/render/services.js';
import { eventRow } from '../../src/tui/render/rows.js';
import { parsePalette } from '../../src/tui/state/nav.js';
import { emptyData, reduce, type TuiData } from '../../src/tui/state/reducer.js';
import { ev, KEY, renderTop, service, snapshot } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const apply = (s: TuiData, ...messages: EventStreamMessage[]) => reduce(s, { type: 'messages', messages });
const E = (e: Parameters<typeof ev>[0]): EventStreamMessage => ({ type: 'event', event: ev(e) });

describe('reducer and rows', () => {
  test('services come from the snapshot, change with events, go with service-removed', () => {
    const web = service('web');
    let s = apply(emptyData(), { type: 'snapshot', snapshot: snapshot({ seq: 5, services: [web] }) });
    expect([...s.services.keys()]).toEqual(['web']);
    s = apply(s, E({ seq: 6, kind: 'service', service: { ...web, status: 'NO_REPLICA', replicas: [] } }));
    expect(s.services.get('web')!.status).toBe('NO_REPLICA');
    expect(s.timeline.map((e) => e.seq)).toEqual([6]);
    // metrics ticking is not worth a line
    s = apply(s, E({ seq: 7, kind: 'service', service: { ...s.services.get('web')!, metrics: { qps: 3, inflight: 0, at: Date.now() } } }));
    expect(s.timeline.map((e) => e.seq)).toEqual([6]);
    s = apply(s, E({ seq: 8, kind: 'service-removed', name: 'web', message: 'service web removed' }));
    expect(s.services.size).toBe(0);
    expect(eventRow(s.timeline[s.timeline.length - 1]!).cells.slice(1)).toEqual(['service', 'web', 'service web removed']);
  });

  test('a service row: endpoint, active versions, replicas by state, QPS, p50; replicas beneath it', () => {
    const now = Date.now();
    const web = service('web', { activeVersions: [1, 2] });
    web.replicas.push({ ...web.replicas[0]!, id: 3, version: 2, status: 'STARTING', readyAt: undefined });
    const r = serviceRow(web, now);
    expect(r.cells.slice(0, 7)).toEqual(['web', 'http://127.0.0.1:30001', '1,2', 'READY', '2 READY · 1 STARTING', '12.5', '1.3ms']);
    expect(r.colour).toBe('green');
    const rows = serviceRows([web, service('api', {}, 1)], now);
    expect(rows.map((x) => x.key)).toEqual(['svc:web', 'rep:web:1', 'rep:web:2', 'rep:web:3', 'svc:api', 'rep:api:1']);
    expect(rows[3]!.cells.slice(0, 4)).toEqual(['  ↳ replica 3', 'http://10.212.0.2:8080', '2', 'STARTING']);
    expect(replicasByState({ ...web, replicas: [] })).toBe('-');
    // stale metrics (the balancer went quiet) are not shown as current
    expect(serviceRow({ ...web, metrics: { ...web.metrics!, at: now - 120_000 } }, now).cells[5]).toBe('-');
  });

  test(':services in the palette', () => {
    expect(parsePalette('services')).toEqual({ views: [{ kind: 'services' }] });
    expect(parsePalette('svc')).toEqual({ views: [{ kind: 'services' }] });
  });
});

describe('services view', () => {
  const snap = () => snapshot({ seq: 10, services: [service('web'), service('api', { status: 'REPLICA_INIT', metrics: undefined }, 1)] });

  test('lists services with their replicas; l on a replica follows its output, on a service the controller log; b the balancer', async () => {
    const h = renderTop({ snapshot: snap(), columns: 140 });
    await h.command('services');
    let f = await h.waitFor('↳ replica 2');
    expect(f).toMatch(/NAME\s+ENDPOINT\s+VERSION\s+STATUS\s+REPLICAS\s+QPS\s+P50\s+AGE/);
    expect(f).toMatch(/web\s+http:\/\/127\.0\.0\.1:30001\s+1\s+READY\s+2 READY\s+12\.5\s+1\.3ms/);
    expect(f).toMatch(/↳ replica 1\s+http:\/\/10\.212\.0\.2:8080\s+1\s+READY\s+local/);
    // to web's first replica
    for (let i = 0; i < 6 && !h.frame().includes('replica 1 of web'); i++) await h.press('j');
    f = h.frame();
    expect(f).toContain('replica 1 of web · READY · cluster web-1');
    await h.press('l');
    await h.waitFor('logs(web-1/1)');
    expect(h.client.logs.map((s) => s.q)).toEqual([{ cluster: 'web-1', job: 1, follow: true }]);
    await h.press(KEY.esc);
    await h.waitFor('↳ replica 2');
    await h.press('g');
    await h.waitFor(/▸ +api/);
    await h.press(KEY.enter);
    await h.waitFor('logs(api/controller)');
    expect(h.client.serveLogs.map((s) => s.q)).toEqual([{ service: 'api', target: 'controller', follow: true }]);
    h.client.serveLogs[0]!.push('replica 1: PROVISIONING → STARTING\n');
    await h.waitFor('PROVISIONING → STARTING');
    await h.press(KEY.esc);
    await h.waitFor('↳ replica 2');
    await h.press('b');
    await h.waitFor('logs(api/load-balancer)');
    expect(h.client.serveLogs[1]!.q).toEqual({ service: 'api', target: 'lb', follow: true });
  });

  test('^D asks first (focus on Cancel); serveDown only on confirm', async () => {
    const h = renderTop({ snapshot: snap(), columns: 140, handlers: { serveDown: (p) => ({ services: p.names ?? [], missing: [] }) } });
    await h.command('svc');
    await h.waitFor('↳ replica 2');
    await h.press('G'); // web's last replica: ^D takes its service down
    await h.press(KEY.ctrlD);
    let f = await h.waitFor('Tear down service web?');
    // (the dialog wraps the message)
    expect(f.replace(/[│\s]+/g, ' ')).toContain('Its load balancer stops (http://127.0.0.1:30001 goes away) and its 2 replicas are torn down.');
    await h.press(KEY.enter);
    await h.waitFor((fr) => !fr.includes('Tear down service web?'));
    expect(h.client.calls).toEqual([]);
    await h.press(KEY.ctrlD);
    await h.waitFor('Tear down service web?');
    await h.press(KEY.right, KEY.enter);
    f = await h.waitFor('tearing down service web');
    expect(h.client.calls).toEqual([{ method: 'serveDown', params: { names: ['web'] } }]);
  });
});
