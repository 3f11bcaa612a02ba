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
import type { StreamManagedLogs, StreamServeLogs } from './data/managed-logs.js';
import type { LaunchForm, TaskVariables } from './data/launch.js';

export interface TopDeps {
  client: ApiClient;
  home: string;
  info?: DaemonInfo;
  /** leaves the dashboard for an interactive shell on the cluster's head node */
  shell?(cluster: string): void;
  quit(): void;
  /** task YAML files the launch key offers (cwd and examples/) */
  listTaskFiles?(): string[];
  /** paths that complete what was typed (directories end with /) */
  completePath?(partial: string): string[];
  /** the envs and secrets a task YAML declares without a value (the launch form asks for them) */
  taskVariables?(path: string): Promise<TaskVariables>;
  /** the task `aloft launch` would send for this form: the CLI's own flag handling */
  prepareLaunch?(form: LaunchForm): Promise<Task>;
  /** starts the daemon again when it is gone (as every CLI command does) */
  reviveDaemon?(): Promise<void>;
  /** accelerator catalog for the GPUs view (lazily loaded) */
  loadGpus?(): Promise<GpuCatalog>;
  /** a managed job's logs across its recoveries */
  streamManagedLogs?: StreamManagedLogs;
  /** a service's controller or load balancer log */
  streamServeLogs?: StreamServeLogs;
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

/** A status line that stays until the requests it is about finish (stop, start, down). */
export interface TrackedRequests {
  flashId: number;
  what: string;
  requestIds: readonly string[];
}

export interface UiState {
  overlay: Overlay | null;
  input: InputMode;
  /** `sticky`: stays until replaced (no timeout) */
  flash: { text: string; level: FlashLevel; id: number; sticky?: boolean } | null;
  /** the chrome (header, breadcrumbs, hints) hidden: a log's `f` */
  fullscreen: boolean;
  tracked: readonly TrackedRequests[];
}

export interface UiActions {
  flash(text: string, level?: FlashLevel, opts?: { sticky?: boolean }): void;
  confirm(req: ConfirmRequest): void;
  prompt(req: PromptRequest): void;
  openOverlay(o: Overlay): void;
  closeOverlay(): void;
  openInput(mode: Exclude<InputMode, null>): void;
  closeInput(): void;
  setFullscreen(on: boolean): void;
  /** runs a daemon call and flashes its outcome as one line */
  act(what: string, fn: () => Promise<string | void>): void;
  /**
   * runs a daemon call that starts requests; its line ("stopping alpha") stays while they run and
   * is cleared when they succeed (replaced by the error when one fails)
   */
  track(what: string, fn: () => Promise<{ requestIds: readonly string[]; text: string }>): void;
  /** the tracked requests behind a status line finished: clear it, or say what went wrong */
  settle(flashId: number, outcome?: { text: string; level: FlashLevel }): void;
}

export const UiStateContext = createContext<UiState>({ overlay: null, input: null, flash: null, fullscreen: false, tracked: [] });
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
