// ONE input handler for the whole app. Layers register with a priority; a keypress goes to the
// highest layer first, so an open dialog always beats the table under it (modal layers swallow
// keys they do not handle).
import { createContext, useCallback, useContext, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useInput } from 'ink';
import { indexKeymap, keyName, type CommandId, type KeyInfo, type Keymap } from './commands.js';

/** One character of a pasted or fast-typed chunk as the key Ink would have reported alone. */
function charKey(ch: string): { input: string; key: KeyInfo } {
  if (ch === '\r' || ch === '\n') return { input: ch, key: { return: true } };
  if (ch === '\t') return { input: ch, key: { tab: true } };
  if (ch === '\u007F' || ch === '\b') return { input: ch, key: { backspace: true } };
  const code = ch.charCodeAt(0);
  // ^A…^Z (^U clears an input line): Ink reports them as ctrl + the letter
  if (code >= 1 && code <= 26) return { input: String.fromCharCode(code + 96), key: { ctrl: true } };
  return { input: ch, key: { shift: ch !== ch.toLowerCase() } };
}

/** Longest a key waits for a dialog an action opened (a render under heavy load takes tens of ms). */
const MODAL_WAIT_MS = 250;

export const PRIORITY = { global: 0, view: 10, overlay: 50, input: 80, dialog: 100 } as const;

export interface KeyAction {
  command: CommandId;
  run: () => void;
  /** replaces the command's default help text in hints/help */
  label?: string;
  /** registered (works, listed in help) but not in the hint bar */
  hideHint?: boolean;
  /** shown instead of the command's first key in the hint bar (a range: "1…9") */
  hintKey?: string;
}

export interface KeyLayer {
  priority: number;
  modal?: boolean;
  actions: readonly KeyAction[];
  /** raw keys before command lookup (text inputs, dialogs); return true when consumed */
  onKey?: (input: string, key: KeyInfo, name: string) => boolean;
  /** shown in help under this title */
  title?: string;
  /** a modal layer's own keys, for the hint bar while it is on top (raw keys it reads in onKey) */
  hints?: ReadonlyArray<{ key: string; label: string }>;
}

interface Registry {
  keymap: Keymap;
  add(layer: { current: KeyLayer }): () => void;
  /**
   * A dialog or input line is about to open: hold the keys that follow until its layer is
   * registered, so typing right after `/` or `:` cannot reach the table before React renders.
   */
  expectModal(): void;
  /** a layer's hints changed (a label, a hidden key): re-render what describes the layers */
  changed(): void;
  /** non-modal layers, highest priority first (what help and hints describe) */
  layers(): KeyLayer[];
  /** the modal layer that has the keyboard now (dialog, input line, overlay), if any */
  modalTop(): KeyLayer | undefined;
  version: number;
}

const KeyContext = createContext<Registry | null>(null);

export function KeypressProvider({ keymap, children }: { keymap: Keymap; children: ReactNode }) {
  const layers = useRef(new Set<{ current: KeyLayer }>());
  const [version, setVersion] = useState(0);
  const index = useMemo(() => indexKeymap(keymap), [keymap]);

  const dispatch = (input: string, key: KeyInfo) => {
    const name = keyName(input, key);
    const commands = index.get(name) ?? [];
    const sorted = [...layers.current].map((l) => l.current).sort((a, b) => b.priority - a.priority);
    for (const layer of sorted) {
      if (layer.onKey?.(input, key, name)) return;
      const action = layer.actions.find((a) => commands.includes(a.command));
      if (action) {
        action.run();
        return;
      }
      if (layer.modal) return;
    }
  };

  // Pasted or fast-typed text arrives as one chunk ("gpus\r"): replay it a key at a time, each
  // after the previous one has rendered, so a key that opens an input hands the rest to it. Keys
  // are handled strictly in arrival order: while the queue is not empty, whatever arrives (an
  // Enter right after a paste) waits behind it.
  const pending = useRef<Array<{ input: string; key: KeyInfo }>>([]);
  // Set while a modal that an action asked for has not registered yet (cleared by `add`, or after
  // MODAL_WAIT_MS if none comes, so a key is never held for long).
  const awaitingModal = useRef<NodeJS.Timeout | undefined>(undefined);
  const drain = () => {
    if (awaitingModal.current) return;
    const next = pending.current.shift();
    if (next === undefined) return;
    dispatch(next.input, next.key);
    if (pending.current.length) setTimeout(drain, 1);
  };
  const enqueue = (events: Array<{ input: string; key: KeyInfo }>) => {
    const idle = pending.current.length === 0;
    pending.current.push(...events);
    if (idle) setTimeout(drain, 1);
  };

  useInput((input, key) => {
    if (input.length > 1 && !key.ctrl && !key.meta && !input.startsWith('\u001B')) {
      enqueue(Array.from(input, charKey));
      return;
    }
    if (pending.current.length || awaitingModal.current) {
      // Ink reuses nothing between calls, but keep our own copy of the key flags anyway.
      enqueue([{ input, key: { ...key } }]);
      return;
    }
    dispatch(input, key);
  });

  const resume = () => {
    if (awaitingModal.current) clearTimeout(awaitingModal.current);
    awaitingModal.current = undefined;
    if (pending.current.length) setTimeout(drain, 1);
  };
  const resumeRef = useRef(resume);
  resumeRef.current = resume;
  const expectModal = useCallback(() => {
    if (awaitingModal.current) clearTimeout(awaitingModal.current);
    awaitingModal.current = setTimeout(() => resumeRef.current(), MODAL_WAIT_MS);
  }, []);

  const add = useCallback((layer: { current: KeyLayer }) => {
    layers.current.add(layer);
    if (layer.current.modal && awaitingModal.current) resumeRef.current();
    setVersion((v) => v + 1);
    return () => {
      layers.current.delete(layer);
      setVersion((v) => v + 1);
    };
  }, []);

  const changed = useCallback(() => setVersion((v) => v + 1), []);

  const registry = useMemo<Registry>(
    () => ({
      keymap,
      version,
      add,
      expectModal,
      changed,
      layers() {
        const sorted = [...layers.current].map((l) => l.current).sort((a, b) => b.priority - a.priority);
        const out: KeyLayer[] = [];
        for (const l of sorted) {
          if (l.modal) continue;
          out.push(l);
        }
        return out;
      },
      modalTop() {
        let top: KeyLayer | undefined;
        for (const l of layers.current) if (!top || l.current.priority > top.priority) top = l.current;
        return top?.modal ? top : undefined;
      },
    }),
    [keymap, version, add, expectModal, changed],
  );
  return <KeyContext.Provider value={registry}>{children}</KeyContext.Provider>;
}

function useRegistry(): Registry {
  const r = useContext(KeyContext);
  if (!r) throw new Error('useKeyLayer outside KeypressProvider');
  return r;
}

/** Registers a layer while mounted (and `active`); its actions are read fresh on every keypress. */
export function useKeyLayer(layer: KeyLayer, active = true): void {
  const reg = useRegistry();
  const ref = useRef(layer);
  ref.current = layer;
  const add = reg.add;
  // Layout effect: a dialog must own the keyboard from the moment it is on screen.
  useLayoutEffect(() => (active ? add(ref) : undefined), [active, add]);
  // The hint bar and help are derived from the layers as they are now: when what they show of
  // this layer changes (a toggle's label: "autoscroll off" → "on"), they must render again.
  const hints = `${layer.title ?? ''}|${layer.actions.map((a) => `${a.command}:${a.label ?? ''}:${a.hideHint ? 1 : 0}:${a.hintKey ?? ''}`).join(',')}|${(layer.hints ?? []).map((h) => `${h.key} ${h.label}`).join(',')}`;
  const shown = useRef(hints);
  const changed = reg.changed;
  useLayoutEffect(() => {
    if (shown.current === hints) return;
    shown.current = hints;
    if (active) changed();
  }, [hints, active, changed]);
}

/** For the UI actions that open a dialog or input line (see Registry.expectModal). */
export function useExpectModal(): () => void {
  return useRegistry().expectModal;
}

export function useKeymap(): Keymap {
  return useRegistry().keymap;
}

/** The modal layer on top now (the hint bar shows its keys instead of the view's). */
export function useModalTop(): KeyLayer | undefined {
  return useRegistry().modalTop();
}

/** Layers as they are now (for the hint bar and help). */
export function useActiveLayers(): KeyLayer[] {
  return useRegistry().layers();
}
