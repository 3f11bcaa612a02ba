// Every view the dashboard can show, by kind: its component and what it supports. A new view
// (services, say) is a ViewSpec variant with a title and a `:` command in state/nav.ts, and one
// entry here; TypeScript refuses a kind without one.
import type { ReactNode } from 'react';
import type { ViewKind, ViewSpec } from '../state/nav.js';
import { ClustersView } from './Clusters.js';
import { DescribeView } from './Describe.js';
import { EventsView } from './Events.js';
import { GpusView } from './Gpus.js';
import { JobsView } from './Jobs.js';
import { LogsView } from './Logs.js';
import { ManagedView } from './Managed.js';
import { RequestsView } from './Requests.js';
import { ServicesView } from './Services.js';

export interface ViewProps<S extends ViewSpec = ViewSpec> {
  view: S;
  height: number;
  width: number;
}

export interface ViewDef<K extends ViewKind> {
  Component(p: ViewProps<Extract<ViewSpec, { kind: K }>>): ReactNode;
  /** rows sort by N / A / S (shown in the breadcrumbs) */
  sortable?: boolean;
}

export const VIEWS: { [K in ViewKind]: ViewDef<K> } = {
  clusters: { Component: ({ height, width }) => <ClustersView height={height} width={width} />, sortable: true },
  jobs: { Component: ({ view, height, width }) => <JobsView cluster={view.cluster} height={height} width={width} />, sortable: true },
  logs: {
    Component: ({ view, height, width }) => <LogsView source={{ kind: 'job', cluster: view.cluster, job: view.job }} height={height} width={width} />,
  },
  requests: { Component: ({ height, width }) => <RequestsView height={height} width={width} />, sortable: true },
  events: { Component: ({ height, width }) => <EventsView height={height} width={width} /> },
  gpus: { Component: ({ view, height, width }) => <GpusView accelerator={view.accelerator} height={height} width={width} /> },
  managed: { Component: ({ height, width }) => <ManagedView height={height} width={width} />, sortable: true },
  'managed-logs': { Component: ({ view, height, width }) => <LogsView source={{ kind: 'managed', id: view.id }} height={height} width={width} /> },
  services: { Component: ({ height, width }) => <ServicesView height={height} width={width} />, sortable: true },
  'serve-logs': {
    Component: ({ view, height, width }) => <LogsView source={{ kind: 'serve', service: view.service, target: view.target }} height={height} width={width} />,
  },
  describe: { Component: ({ view, height, width }) => <DescribeView target={view.target} yaml={view.yaml ?? false} height={height} width={width} /> },
};

export function ActiveView(props: ViewProps) {
  const def = VIEWS[props.view.kind] as ViewDef<ViewKind>;
  return <def.Component {...(props as ViewProps<never>)} />;
}

export const isSortable = (kind: ViewKind): boolean => VIEWS[kind].sortable === true;
