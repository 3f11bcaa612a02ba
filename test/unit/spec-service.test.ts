// The `service:` section (issue 12): SkyPilot's schema and rules, each refusal one positioned
// line; defaults; what `serve up` refuses in the task around it; the corpus' services.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_PARAMS, describeIssue } from '../../src/protocol/schemas.js';
import { applyOverrides, parseTaskText } from '../../src/spec/index.js';
import { checkServiceTask, serviceSpecText, servicePort, SERVICE_DEFAULTS } from '../../src/spec/service.js';
import { taskToYaml } from '../../src/spec/to-yaml.js';
import { failText } from '../helpers/spec.js';

const y = (lines: string[]) => lines.join('\n') + '\n';
const svc = (lines: string[], tail = ['resources:', '  ports: 8080', 'run: x']) => y(['service:', ...lines.map((l) => `  ${l}`), ...tail]);
const parse = (text: string, opts = {}) => parseTaskText(text, 'task.yaml', opts).tasks[0]!;

describe('service: as SkyPilot accepts it', () => {
  it('a readiness path alone, with SkyServe defaults', () => {
    const s = parse(svc(['readiness_probe: /health', 'replicas: 2'])).service!;
    expect(s.readiness).toEqual({
      path: '/health',
      initialDelaySeconds: SERVICE_DEFAULTS.initialDelaySeconds,
      timeoutSeconds: 15,
      intervalSeconds: 10,
      failureThresholdSeconds: 180,
    });
    expect(s).toMatchObject({ minReplicas: 2, maxReplicas: 2, upscaleDelaySeconds: 300, downscaleDelaySeconds: 1200, streamTimeoutSeconds: 120 });
    expect(s.loadBalancingPolicy).toBeUndefined();
  });

  it('the probe object, replica_policy, load balancer, tls', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-svc-'));
    writeFileSync(join(dir, 'k.pem'), 'k');
    writeFileSync(join(dir, 'c.pem'), 'c');
    const s = parse(
      svc([
        'readiness_probe:',
        '  path: /v1/models',
        '  initial_delay_seconds: 30',
        '  timeout_seconds: 5',
        '  endpoint_probe_interval_seconds: 2',
        '  consecutive_failure_threshold_timeout: 20',
        '  post_data: \'{"model": "m"}\'',
        '  headers: {Authorization: "Bearer x"}',
        'replica_policy:',
        '  min_replicas: 0',
        '  max_replicas: 3',
        '  target_qps_per_replica: 2.5',
        '  upscale_delay_seconds: 10',
        '  downscale_delay_seconds: 60',
        '  num_overprovision: 1',
        'load_balancing_policy: ROUND_ROBIN',
        'load_balancer: {stream_timeout_seconds: 600}',
        'ports: 8080',
        'tls: {keyfile: $DIR/k.pem, certfile: $DIR/c.pem}',
      ]).replace('service:', `envs: {DIR: ${dir}}\nservice:`),
    ).service!;
    expect(s.readiness).toMatchObject({ path: '/v1/models', initialDelaySeconds: 30, timeoutSeconds: 5, intervalSeconds: 2, failureThresholdSeconds: 20, postData: { model: 'm' }, headers: { Authorization: 'Bearer x' } });
    expect(s).toMatchObject({ minReplicas: 0, maxReplicas: 3, targetQpsPerReplica: 2.5, upscaleDelaySeconds: 10, downscaleDelaySeconds: 60, numOverprovision: 1, loadBalancingPolicy: 'round_robin', streamTimeoutSeconds: 600, port: 8080 });
    expect(s.tls).toEqual({ keyfile: join(dir, 'k.pem'), certfile: join(dir, 'c.pem') });
    // what the parser makes of every field is what the daemon's API accepts (serveUp is checked
    // against protocol/schemas.ts before the daemon acts)
    const task = parse(svc(['readiness_probe: {path: /x, post_data: {a: [1]}, headers: {X: y}}', 'replica_policy: {min_replicas: 0, max_replicas: 2, target_qps_per_replica: {"A100:1": 3}, base_ondemand_fallback_replicas: 1, dynamic_ondemand_fallback: true, spot_placer: dynamic_fallback}', 'load_balancing_policy: instance_aware_least_load'], ['resources:', '  ports: 8080', '  use_spot: true', 'run: x']));
    for (const t of [task, parse(svc(['readiness_probe: /h']))]) {
      const r = API_PARAMS.serveUp.safeParse({ task: t, name: 'svc' });
      expect(r.success, r.success ? '' : describeIssue(r.error, { task: t })).toBe(true);
    }
  });

  it('the daemon refuses a service of the wrong shape in one line naming the field', () => {
    const t = parse(svc(['readiness_probe: /h']));
    const bad = [
      [{ ...t.service!, minReplicas: -1 }, 'task.service.minReplicas: expected a number of replicas of at least 0, got -1'],
      [{ ...t.service!, readiness: { ...t.service!.readiness, path: 'h' } }, 'task.service.readiness.path: expected a path starting with /, got "h"'],
      [{ ...t.service!, loadBalancingPolicy: 'random' }, 'task.service.loadBalancingPolicy: expected round_robin, least_load or instance_aware_least_load, got "random"'],
      [{ ...t.service!, extra: 1 }, "unknown field 'extra' in task.service"],
    ] as const;
    for (const [service, line] of bad) {
      const input = { task: { ...t, service } };
      const r = API_PARAMS.serveUp.safeParse(input);
      expect(r.success).toBe(false);
      if (!r.success) expect(describeIssue(r.error, input)).toBe(line);
    }
    expect(API_PARAMS.serveUpdate.safeParse({ name: 'svc', task: t, mode: 'canary' }).success).toBe(false);
  });

  const refusals: Array<[string[], string]> = [
    [['replicas: 2', 'replica_policy: {min_replicas: 1}'], "task.yaml:2:3: service.replicas: cannot be combined with 'replica_policy'; use one of them"],
    [['readiness_probe: health'], 'task.yaml:2:20: service.readiness_probe: the readiness path must start with a slash (/), got "health"'],
    [['readiness_probe: {path: /x, intial_delay_seconds: 3}'], "task.yaml:2:31: unknown field 'intial_delay_seconds' in service.readiness_probe; did you mean 'initial_delay_seconds'?"],
    [['readiness_probe: {initial_delay_seconds: 3}'], 'task.yaml:2:3: service.readiness_probe.path: expected a URL path like /health, got nothing'],
    [['readiness_probe: {path: /x, post_data: "{bad"}'], 'task.yaml:2:42: service.readiness_probe.post_data: is not valid JSON (give a mapping, or a JSON string)'],
    [['replicas: two'], 'task.yaml:2:13: service.replicas: expected a whole number of replicas, got "two"'],
    [['min_replicas: 1'], "task.yaml:2:3: unknown field 'min_replicas' in service; it belongs under 'replica_policy:'"],
    [['replica_policy: {min_replicas: 2, max_replicas: 1, target_qps_per_replica: 1}'], 'task.yaml:2:51: service.replica_policy.max_replicas: must be at least min_replicas (2), got 1'],
    [['replica_policy: {min_replicas: 1, target_qps_per_replica: 1}'], 'task.yaml:2:37: service.replica_policy.target_qps_per_replica: needs max_replicas too (autoscaling goes from min_replicas to max_replicas)'],
    [['replica_policy: {min_replicas: 1, max_replicas: 3}'], 'task.yaml:2:37: service.replica_policy.max_replicas: differs from min_replicas but target_qps_per_replica is not set; set it to autoscale'],
    [['replica_policy: {min_replicas: -1}'], 'task.yaml:2:34: service.replica_policy.min_replicas: expected a whole number of replicas (0 or more), got -1'],
    [['load_balancing_policy: least_loaded'], 'task.yaml:2:26: service.load_balancing_policy: expected round_robin, least_load, instance_aware_least_load, got "least_loaded"'],
    [['replica_policy: {min_replicas: 1, max_replicas: 2, target_qps_per_replica: {A100: 1}}'], 'task.yaml:2:78: service.replica_policy.target_qps_per_replica: a mapping per accelerator needs load_balancing_policy: instance_aware_least_load'],
    [['load_balancing_policy: instance_aware_least_load'], 'task.yaml:2:26: service.load_balancing_policy: instance_aware_least_load needs replica_policy.target_qps_per_replica as a mapping {ACCELERATOR: QPS}'],
    [['replica_policy: {min_replicas: 1, max_replicas: 2, target_qps_per_replica: {a100: 1}}'], 'task.yaml:2:79: service.replica_policy.target_qps_per_replica.a100: \'a100\' is not an accelerator name like "H100:1" or "A100"'],
    [['ports: 70000'], 'task.yaml:2:10: service.ports: expected a port between 1 and 65535, got 70000'],
    [['tls: {keyfile: /nope/k.pem, certfile: /nope/c.pem}'], 'task.yaml:2:18: service.tls.keyfile: /nope/k.pem does not exist'],
    [['tls: {keyfile: k.pem}'], "task.yaml:2:3: service.tls.certfile: expected a file path, got nothing"],
    [['replica_policy: {min_replicas: 1, spot_placer: nearest}'], 'task.yaml:2:50: service.replica_policy.spot_placer: expected dynamic_fallback, got "nearest"'],
    [['load_balancer: {timeout: 3}'], "task.yaml:2:19: unknown field 'timeout' in service.load_balancer"],
  ];
  it.each(refusals)('refuses %j in one positioned line', (lines, message) => {
    expect(failText(svc(lines))).toBe(message);
  });
});

describe('what serve up needs of the task (requireService)', () => {
  const need = (text: string) => failText(text, { requireService: true });
  it('a service section', () => {
    expect(need(y(['run: x']))).toBe('task.yaml:1:1: Service section not found in the YAML file. To fix, add a valid `service` field.');
  });
  it('the replica port: service.ports, else the one port in resources.ports', () => {
    expect(need(svc(['replicas: 1'], ['run: x']))).toBe('task.yaml:1:1: a service needs the port its replicas serve on: set resources.ports (one port) or service.ports');
    expect(need(svc(['replicas: 1'], ['resources:', '  ports: [8080, 8081]', 'run: x']))).toBe('task.yaml:4:3: resources.ports opens several ports: set service.ports to the one the replicas serve on');
    expect(need(svc(['ports: 9000'], ['resources:', '  ports: 8080', 'run: x']))).toBe('task.yaml:4:10: service.ports 9000 is not among resources.ports (8080)');
    expect(servicePort(parse(svc(['ports: 9000'], ['run: x']), { requireService: true }))).toBe(9000);
    expect(servicePort(parse(svc(['replicas: 1'], ['resources:', '  ports: "8000-8000"', 'run: x']), { requireService: true }))).toBe(8000);
  });
  it('no job_recovery (the controller replaces replicas), spot all or nothing, fallback only for spot', () => {
    expect(need(svc(['replicas: 1'], ['resources:', '  ports: 8080', '  job_recovery: FAILOVER', 'run: x']))).toMatch(/^task\.yaml:5:3: job_recovery has no meaning for a service/);
    expect(need(svc(['replica_policy: {min_replicas: 1, base_ondemand_fallback_replicas: 1}'], ['resources:', '  ports: 8080', 'run: x']))).toBe(
      'task.yaml:3:1: on-demand fallback is for spot replicas: set use_spot: true in resources',
    );
    expect(need(svc(['replicas: 1'], ['resources:', '  ports: 8080', '  any_of:', '    - use_spot: true', '    - use_spot: false', 'run: x']))).toMatch(/^task\.yaml:3:1: resources: all candidates must use spot or none/);
  });
  it('is checked again after the CLI flags (--ports, --use-spot)', () => {
    const t = parse(svc(['replicas: 1'], ['run: x']));
    expect(() => checkServiceTask(t)).toThrow(/needs the port its replicas serve on/);
    expect(() => checkServiceTask(applyOverrides(t, { ports: ['8080'] }))).not.toThrow();
  });
});

describe('round trips and the spec block', () => {
  it('taskToYaml keeps the section as written', () => {
    const t = parse(svc(['readiness_probe: /h', 'replicas: 3']));
    expect(parse(taskToYaml(t)).service).toEqual(t.service);
  });
  it('prints SkyServe\'s "Service spec:" lines', () => {
    const s = parse(svc(['readiness_probe: {path: /v1/models, post_data: {model: m}}', 'replica_policy: {min_replicas: 1, max_replicas: 3, target_qps_per_replica: 2}'])).service!;
    expect(serviceSpecText(s).split('\n')).toEqual([
      'Readiness probe method:           POST /v1/models {"model":"m"}',
      'Readiness initial delay seconds:  1200',
      'Readiness probe timeout seconds:  15',
      'Replica autoscaling policy:       Autoscaling from 1 to 3 replicas (target QPS per replica: 2)',
      'TLS Certificates:                 No TLS Enabled',
      'Spot Policy:                      No spot policy',
      'Load Balancing Policy:            least_load (default)',
    ]);
  });
});
