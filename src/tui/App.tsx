// The dashboard: providers (keys, data, deps, UI state/actions, navigation), the frame, and the
// active view. Nothing here knows how data arrives; see run.tsx for the terminal and the daemon.
import { useCallback, useEffect, useMemo, useReducer, useState } from 'react';
import { Box, useStdout } from 'ink';
import { errorMessage } from '../util/errors.js';
import {
  DepsContext,
  NavDispatchContext,
  NavStateContext,
  StoreContext,
  UiActionsContext,
  UiStateContext,
  useNav,
  useNavDispatch,
  useDeps,
  useUi,
  useUiState,
  type TopDeps,
  type UiActions,
  type UiState,
} from './context.js';
import { defaultKeymap, type Keymap } from './keys/commands.js';
import { KeypressProvider, PRIORITY, useActiveLayers, useExpectModal, useKeyLayer, useKeymap } from './keys/dispatcher.js';
import { Crumbs, FlashLine, Header, HintBar } from './components/Frame.js';
import { ConfirmDialog, FilterLine, HelpOverlay, PaletteLine, PromptDialog } from './components/Dialogs.js';
import { initialNav, navReduce, viewTitle, type NavState } from './state/nav.js';
import type { TuiStore } from './state/store.js';
import { ActiveView } from './views/registry.js';
import { LaunchOverlay } from './views/Launch.js';
import { RequestWatch } from './components/RequestWatch.js';
import { installInkOutputCache } from './render/ink-output.js';

// Before any frame: Ink rebuilds only the screen rows that changed (see render/ink-output.ts).
await installInkOutputCache();

export const FLASH_MS = 6000;
/** header (2) + breadcrumbs + hint bar + flash line */
const CHROME_LINES = 5;
/** fullscreen (a log's `f`): only the flash / input line stays */
const FULLSCREEN_CHROME_LINES = 1;

export interface AppProps {
  store: TuiStore;
  deps: TopDeps;
  keymap?: Keymap;
  /** terminal size; defaults to the stdout's, following resizes */
  columns?: number;
  rows?: number;
  /** navigation to start from (the dashboard coming back from a shell) */
  initialNav?: NavState;
  onNavChange?(nav: NavState): void;
}

export function App(props: AppProps) {
  const keymap = useMemo(() => props.keymap ?? defaultKeymap(), [props.keymap]);
  return (
    <KeypressProvider keymap={keymap}>
      <StoreContext.Provider value={props.store}>
        <DepsContext.Provider value={props.deps}>
          <UiProvider>
            <NavProvider initial={props.initialNav} onChange={props.onNavChange}>
              <Screen columns={props.columns} rows={props.rows} />
            </NavProvider>
          </UiProvider>
        </DepsContext.Provider>
      </StoreContext.Provider>
    </KeypressProvider>
  );
}

function UiProvider({ children }: { children: React.ReactNode }) {
  const [state, setState] = useState<UiState>({ overlay: null, input: null, flash: null, fullscreen: false, tracked: [] });
  const expectModal = useExpectModal();
  const actions = useMemo<UiActions>(() => {
    let ids = 0;
    const flash: UiActions['flash'] = (text, level = 'info', opts = {}) =>
      setState((s) => ({ ...s, flash: { text, level, id: ++ids, sticky: opts.sticky } }));
    // Opening a dialog or input line: the keys typed next belong to it (see expectModal).
    const open = (patch: Pick<UiState, 'overlay'> | Pick<UiState, 'input'>) => {
      expectModal();
      setState((s) => ({ ...s, ...patch }));
    };
    return {
      flash,
      confirm: (req) => open({ overlay: { type: 'confirm', req } }),
      prompt: (req) => open({ overlay: { type: 'prompt', req } }),
      openOverlay: (o) => open({ overlay: o }),
      closeOverlay: () => setState((s) => ({ ...s, overlay: null })),
      openInput: (mode) => open({ input: mode }),
      closeInput: () => setState((s) => ({ ...s, input: null })),
      setFullscreen: (on) => setState((s) => (s.fullscreen === on ? s : { ...s, fullscreen: on })),
      act(what, fn) {
        flash(`${what}…`);
        fn().then(
          (msg) => flash(msg || `${what}: done`),
          (err: unknown) => flash(`${what}: ${errorMessage(err)}`, 'error'),
        );
      },
      track(what, fn) {
        flash(`${what}…`);
        fn().then(
          ({ requestIds, text }) => {
            // The line stays while the requests run; RequestWatch clears it when they finish.
            const id = ++ids;
            setState((s) => ({
              ...s,
              flash: { text, level: 'info', id, sticky: true },
              tracked: [...s.tracked, { flashId: id, what, requestIds }],
            }));
          },
          (err: unknown) => flash(`${what}: ${errorMessage(err)}`, 'error'),
        );
      },
      settle(flashId, outcome) {
        setState((s) => {
          const tracked = s.tracked.filter((t) => t.flashId !== flashId);
          if (s.flash?.id !== flashId) return { ...s, tracked };
          return { ...s, tracked, flash: outcome ? { text: outcome.text, level: outcome.level, id: ++ids } : null };
        });
      },
    };
  }, [expectModal]);
  const flashId = state.flash?.sticky ? undefined : state.flash?.id;
  useEffect(() => {
    if (flashId === undefined) return;
    const t = setTimeout(() => setState((s) => (s.flash?.id === flashId ? { ...s, flash: null } : s)), FLASH_MS);
    return () => clearTimeout(t);
  }, [flashId]);
  return (
    <UiActionsContext.Provider value={actions}>
      <UiStateContext.Provider value={state}>
        {state.tracked.length ? <RequestWatch tracked={state.tracked} /> : null}
        {children}
      </UiStateContext.Provider>
    </UiActionsContext.Provider>
  );
}

function NavProvider({ initial, onChange, children }: { initial?: NavState; onChange?(n: NavState): void; children: React.ReactNode }) {
  const [nav, dispatch] = useReducer(navReduce, initial ?? initialNav());
  useEffect(() => {
    onChange?.(nav);
  }, [nav, onChange]);
  return (
    <NavDispatchContext.Provider value={dispatch}>
      <NavStateContext.Provider value={nav}>{children}</NavStateContext.Provider>
    </NavDispatchContext.Provider>
  );
}

function useTerminalSize(columns?: number, rows?: number): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = useCallback(
    () => ({ columns: columns ?? (stdout.columns || 80), rows: rows ?? (stdout.rows || 24) }),
    [stdout, columns, rows],
  );
  const [size, setSize] = useState(read);
  useEffect(() => {
    setSize(read());
    const on = () => setSize(read());
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  }, [stdout, read]);
  return size;
}

function Screen(props: { columns?: number; rows?: number }) {
  const size = useTerminalSize(props.columns, props.rows);
  const ui = useUiState();
  const nav = useNav();
  const top = nav[nav.length - 1]!;
  const chrome = ui.fullscreen ? FULLSCREEN_CHROME_LINES : CHROME_LINES;
  // One line short of the terminal: a full-height frame makes Ink clear the screen on every update.
  const total = Math.max(chrome + 3, size.rows - 1);
  const viewHeight = total - chrome;
  const width = size.columns;
  const overlay = ui.overlay;
  return (
    <Box flexDirection="column" width={width} height={total}>
      <GlobalKeys />
      {ui.fullscreen ? null : (
        <>
          <Header width={width} />
          <Crumbs width={width} />
        </>
      )}
      <Box flexDirection="column" height={viewHeight} width={width}>
        {overlay ? <OverlayView overlay={overlay} height={viewHeight} width={width} /> : null}
        <Box display={overlay ? 'none' : 'flex'} flexDirection="column">
          <ActiveView key={`${nav.length}:${viewTitle(top.view)}`} view={top.view} height={viewHeight} width={width} />
        </Box>
      </Box>
      {ui.fullscreen ? null : <HintBar width={width} />}
      {ui.input === 'filter' ? <FilterLine /> : ui.input === 'palette' ? <PaletteLine /> : <FlashLine width={width} />}
    </Box>
  );
}

function OverlayView({ overlay, height, width }: { overlay: NonNullable<UiState['overlay']>; height: number; width: number }) {
  const layers = useActiveLayers();
  switch (overlay.type) {
    case 'confirm':
      return <ConfirmDialog req={overlay.req} width={width} height={height} />;
    case 'prompt':
      return <PromptDialog req={overlay.req} width={width} height={height} />;
    case 'help':
      return <HelpOverlay layers={layers} height={height} width={width} />;
    case 'launch':
      return <LaunchOverlay height={height} width={width} />;
  }
}

/** App-wide keys, below every view (a view may take a key for itself). */
function GlobalKeys() {
  const ui = useUi();
  const keymap = useKeymap();
  // keymap.yaml bindings that were not taken (conflicts): said once, at start-up
  useEffect(() => {
    const w = keymap.warnings ?? [];
    if (w.length) ui.flash(w.length > 1 ? `${w[0]} (+${w.length - 1} more)` : w[0]!, 'warn');
  }, [keymap, ui]);
  const nav = useNav();
  const dispatch = useNavDispatch();
  const deps = useDeps();
  const top = nav[nav.length - 1]!;
  useKeyLayer({
    priority: PRIORITY.global,
    title: 'general',
    actions: [
      { command: 'app.help', run: () => ui.openOverlay({ type: 'help' }) },
      { command: 'palette.open', run: () => ui.openInput('palette') },
      {
        command: 'nav.back',
        run: () => {
          if (top.filter) dispatch({ type: 'patch', patch: { filter: '' } });
          else if (nav.length > 1) dispatch({ type: 'pop' });
        },
        hideHint: nav.length <= 1 && !top.filter,
      },
      { command: 'app.quit', run: deps.quit },
    ],
  });
  return null;
}

