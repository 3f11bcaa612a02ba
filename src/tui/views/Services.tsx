// `:services`: each service (endpoint, version, replicas by state, the QPS and p50 latency its load
// balancer measures) with its replicas beneath. l/⏎ on a replica follows its output; on a service,
// its controller's log (b: the load balancer's); ^D tears the service down after confirmation.
import { useMemo } from 'react';
import type { ReplicaRecord, ServiceRecord } from '../../protocol/model.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { directed } from '../render/sort.js';
import { serviceComparator, SERVICE_COLUMNS, serviceDetail, serviceRows } from '../render/services.js';
import { ListTable } from '../components/ListTable.js';
import { useList } from './useList.js';
import { useTableView } from './useTableView.js';
import { confirmThenAct, logsActions, onSelected } from './row-actions.js';

const SORT_COLUMNS = { name: 'NAME', age: 'AGE', status: 'STATUS' } as const;

/** The service (and replica) a row key names: svc:NAME or rep:NAME:ID. */
function resolve(services: ReadonlyMap<string, ServiceRecord>, key: string | undefined): { svc?: ServiceRecord; replica?: ReplicaRecord } {
  if (!key) return {};
  const m = /^(svc|rep):(.+?)(?::(\d+))?$/.exec(key);
  if (!m) return {};
  const svc = services.get(m[2]!);
  const replica = m[1] === 'rep' && svc ? svc.replicas.find((r) => r.id === Number(m[3])) : undefined;
  return { svc, replica };
}

export function ServicesView({ height, width }: { height: number; width: number }) {
  const { data, deps, ui, nav, now, sort, columns } = useTableView(SERVICE_COLUMNS, SORT_COLUMNS);
  const all = useMemo(() => {
    const ordered = [...data.services.values()].sort(directed(serviceComparator(sort.key), sort.reverse));
    return serviceRows(ordered, now);
  }, [data.services, sort.key, sort.reverse, now]);
  const list = useList(all, height - 2);
  const shown = resolve(data.services, list.selectedKey);
  /** the service (and replica) selected when the key runs */
  const onService = onSelected(() => {
    const { svc, replica } = resolve(data.services, list.current());
    return svc ? { svc, replica } : undefined;
  }, ui, 'no service selected');

  const actions: KeyAction[] = [
    ...list.actions,
    ...logsActions(
      onService(({ svc, replica }) => {
        if (!replica) return nav({ type: 'push', view: { kind: 'serve-logs', service: svc.name, target: 'controller' } });
        if (replica.jobId === undefined) return ui.flash(`replica ${replica.id} has no output yet (${replica.status})`, 'warn');
        nav({ type: 'push', view: { kind: 'logs', cluster: replica.cluster, job: replica.jobId } });
      }),
    ),
    {
      command: 'service.balancer',
      run: onService(({ svc }) => nav({ type: 'push', view: { kind: 'serve-logs', service: svc.name, target: 'lb' } })),
    },
    {
      command: 'service.down',
      run: onService(({ svc }) => {
        if (svc.status === 'SHUTTING_DOWN') return ui.flash(`${svc.name} is already shutting down`, 'warn');
        const live = svc.replicas.filter((r) => r.endedAt === undefined).length;
        const name = svc.name;
        confirmThenAct(ui, {
          title: `Tear down service ${name}?`,
          message: `Its load balancer stops (${svc.endpoint ?? 'no endpoint yet'} goes away) and its ${live} replica${live === 1 ? '' : 's'} are torn down.`,
          confirmLabel: 'Down',
          what: `down ${name}`,
          call: async () => {
            const r = await deps.client.call('serveDown', { names: [name] });
            return r.services.length ? `tearing down service ${name}…` : `service ${name} is gone`;
          },
        });
      }),
    },
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'services' });
  return (
    <ListTable
      list={list}
      columns={columns}
      detail={shown.svc ? serviceDetail(shown.svc, shown.replica) : ' '}
      loaded={data.loaded}
      empty="no services; `aloft serve up SERVICE_YAML` starts one"
      height={height}
      width={width}
    />
  );
}
