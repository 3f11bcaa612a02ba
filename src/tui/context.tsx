// React contexts: data (external store), dependencies (client, home, hooks into the CLI), UI state
// and UI actions kept apart so components that only act do not re-render on every change.
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ApiClient } from '../client/types.js';
import type { DaemonInfo } from '../protocol/api.js';
import type { Task } from '../spec/types.js';
import type { TuiData } from './state/reducer.js';
import type { TuiStore } from './state/store.js';
import type { NavAction, NavState } from './state/nav.js';
import type { GpuCatalog } from './data/gpus.js';
import type { StreamManagedLogs } from './data/managed-logs.js';

export interface TopDeps {
  client: ApiClient;
  home: string;
  info?: DaemonInfo;
  /** leaves the dashboard for an interactive shell on the cluster's head node */
  shell?(cluster: string): void;
  quit(): void;
  /** task YAML files the launch key offers (cwd and examples/) */
  listTaskFiles?(): string[];
  /** parses a task YAML into the normalized Task the daemon takes */
  loadTask?(path: string): Promise<Task>;
  /** accelerator catalog for the GPUs view (lazily loaded) */
  loadGpus?(): Promise<GpuCatalog>;
  /** a managed job's logs across its recoveries */
  streamManagedLogs?: StreamManagedLogs;
}

export const DepsContext = createContext<TopDeps | null>(null);
export const StoreContext = createContext<TuiStore | null>(null);

export function useDeps(): TopDeps {
  const d = useContext(DepsContext);
  if (!d) throw new Error('useDeps outside the app');
  return d;
}

export function useData(): TuiData {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useData outside the app');
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

export type FlashLevel = 'info' | 'warn' | 'error';

export interface ConfirmRequest {
  title: string;
  message: string;
  /** label of the action button (focus starts on Cancel) */
  confirmLabel: string;
  onConfirm(): void;
  /** focus starts on the action instead (non-destructive confirms, e.g. launch) */
  focusConfirm?: boolean;
}

export interface PromptRequest {
  title: string;
  initial?: string;
  onSubmit(value: string): void;
}

export type Overlay =
  | { type: 'confirm'; req: ConfirmRequest }
  | { type: 'prompt'; req: PromptRequest }
  | { type: 'help' }
  | { type: 'launch' };

export type InputMode = 'filter' | 'palette' | null;

export interface UiState {
  overlay: Overlay | null;
  input: InputMode;
  flash: { text: string; level: FlashLevel; id: number } | null;
}

export interface UiActions {
  flash(text: string, level?: FlashLevel): void;
  confirm(req: ConfirmRequest): void;
  prompt(req: PromptRequest): void;
  openOverlay(o: Overlay): void;
  closeOverlay(): void;
  openInput(mode: Exclude<InputMode, null>): void;
  closeInput(): void;
  /** runs a daemon call and flashes its outcome as one line */
  act(what: string, fn: () => Promise<string | void>): void;
}

export const UiStateContext = createContext<UiState>({ overlay: null, input: null, flash: null });
export const UiActionsContext = createContext<UiActions | null>(null);
export const NavStateContext = createContext<NavState>([]);
export const NavDispatchContext = createContext<((a: NavAction) => void) | null>(null);

export const useUiState = () => useContext(UiStateContext);
export function useUi(): UiActions {
  const u = useContext(UiActionsContext);
  if (!u) throw new Error('useUi outside the app');
  return u;
}
export const useNav = () => useContext(NavStateContext);
export function useNavDispatch(): (a: NavAction) => void {
  const d = useContext(NavDispatchContext);
  if (!d) throw new Error('useNavDispatch outside the app');
  return d;
}
