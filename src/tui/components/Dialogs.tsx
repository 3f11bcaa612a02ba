// Modal pieces: confirm dialog, text prompt, `/` filter and `:` palette input lines, help.
import { useRef, useState } from 'react';
import { Box, Text } from 'ink';
import { useNav, useNavDispatch, useUi, type ConfirmRequest, type PromptRequest } from '../context.js';
import { COMMANDS, displayKey } from '../keys/commands.js';
import { PRIORITY, useActiveLayers, useKeyLayer, useKeymap, type KeyLayer } from '../keys/dispatcher.js';
import { editLine } from '../keys/line-edit.js';
import { wrapWords } from '../render/format.js';
import { PALETTE_COMMANDS, parsePalette } from '../state/nav.js';

/** Room a dialog needs around its lines: the border above and below. */
const DIALOG_BORDER = 2;
const DIALOG_MAX_WIDTH = 70;

/**
 * The dialog's lines for `height` rows: the title and the buttons always show; the message gets
 * what is left (cut with an ellipsis), then a blank line and the key line when there is room.
 */
export function confirmLayout(req: Pick<ConfirmRequest, 'title' | 'message'>, width: number, height: number) {
  const inner = Math.max(2, height - DIALOG_BORDER);
  const textWidth = Math.max(10, Math.min(width, DIALOG_MAX_WIDTH) - 4);
  const title = wrapWords(req.title, textWidth, 1)[0] ?? '';
  const full = wrapWords(req.message, textWidth);
  const room = inner - 2;
  const message = wrapWords(req.message, textWidth, Math.max(0, Math.min(full.length, room)));
  let spare = room - message.length;
  const gap = spare > 0;
  if (gap) spare--;
  return { title, message, gap, keys: spare > 0 };
}

export function ConfirmDialog({ req, width, height = 24 }: { req: ConfirmRequest; width: number; height?: number }) {
  const ui = useUi();
  // 0 = Cancel, 1 = the action; destructive actions start on Cancel.
  const [focus, setFocusState] = useState(req.focusConfirm ? 1 : 0);
  const focusRef = useRef(focus);
  const setFocus = (f: (prev: number) => number) => {
    focusRef.current = f(focusRef.current);
    setFocusState(focusRef.current);
  };
  useKeyLayer({
    priority: PRIORITY.dialog,
    modal: true,
    actions: [],
    hints: [
      { key: '←/→', label: 'choose' },
      { key: '⏎', label: focus === 1 ? req.confirmLabel.toLowerCase() : 'cancel' },
      { key: 'esc', label: 'cancel' },
    ],
    onKey(_input, _key, name) {
      if (name === 'left' || name === 'right' || name === 'tab' || name === 'shift+tab' || name === 'h' || name === 'l') {
        setFocus((f) => 1 - f);
      } else if (name === 'enter' || name === 'space') {
        ui.closeOverlay();
        if (focusRef.current === 1) req.onConfirm();
        else ui.flash(`${req.confirmLabel.toLowerCase()}: cancelled`, 'warn');
      } else if (name === 'esc' || name === 'n' || name === 'q') {
        ui.closeOverlay();
        ui.flash(`${req.confirmLabel.toLowerCase()}: cancelled`, 'warn');
      }
      return true;
    },
  });
  const button = (label: string, on: boolean, colour: string) => (
    <Text inverse={on} color={on ? colour : undefined} bold={on}>
      {on ? `[ ${label} ]` : `  ${label}  `}
    </Text>
  );
  const l = confirmLayout(req, width, height);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="yellow" paddingX={1} width={Math.min(width, DIALOG_MAX_WIDTH)} flexShrink={0}>
      <Text bold color="yellow" wrap="truncate">
        {l.title}
      </Text>
      {l.message.map((m, i) => (
        <Text key={i} wrap="truncate">
          {m || ' '}
        </Text>
      ))}
      <Box marginTop={l.gap ? 1 : 0} gap={2} flexShrink={0}>
        {button('Cancel', focus === 0, 'white')}
        {button(req.confirmLabel, focus === 1, 'red')}
      </Box>
      {l.keys ? <Text dimColor>←/→ choose · ⏎ confirm · esc cancel</Text> : null}
    </Box>
  );
}

/** Line editing shared by prompt, filter, palette and search. */
export function useLineInput(opts: {
  initial?: string;
  onChange?(v: string): void;
  onSubmit(v: string): void;
  onCancel(): void;
  /** what ⏎ and esc do, for the hint bar */
  enter?: string;
  esc?: string;
}): string {
  const [value, setValue] = useState(opts.initial ?? '');
  // Keys can arrive faster than renders; edit the latest value, not the rendered one.
  const current = useRef(value);
  const set = (v: string) => {
    current.current = v;
    setValue(v);
    opts.onChange?.(v);
  };
  useKeyLayer({
    priority: PRIORITY.input,
    modal: true,
    actions: [],
    hints: [
      { key: '⏎', label: opts.enter ?? 'apply' },
      { key: 'esc', label: opts.esc ?? 'cancel' },
      { key: '^U', label: 'clear' },
    ],
    onKey(input, key, name) {
      const v = current.current;
      if (name === 'enter') opts.onSubmit(v);
      else if (name === 'esc') opts.onCancel();
      else {
        const next = editLine(v, input, key, name);
        if (next !== null && next !== v) set(next);
      }
      return true;
    },
  });
  return value;
}

export function PromptDialog({ req, width, height = 24 }: { req: PromptRequest; width: number; height?: number }) {
  const ui = useUi();
  const value = useLineInput({
    initial: req.initial,
    onSubmit(v) {
      ui.closeOverlay();
      req.onSubmit(v);
    },
    onCancel: () => ui.closeOverlay(),
  });
  // the input line always shows; the title wraps into what is left
  const textWidth = Math.max(10, Math.min(width, DIALOG_MAX_WIDTH) - 4);
  const title = wrapWords(req.title, textWidth, Math.max(1, height - DIALOG_BORDER - 2));
  const keys = height - DIALOG_BORDER - title.length - 1 > 0;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1} width={Math.min(width, DIALOG_MAX_WIDTH)} flexShrink={0}>
      {title.map((t, i) => (
        <Text key={i} bold wrap="truncate">
          {t}
        </Text>
      ))}
      <Text wrap="truncate">
        <Text color="cyan">› </Text>
        {value}
        <Text inverse> </Text>
      </Text>
      {keys ? <Text dimColor>⏎ apply · esc cancel</Text> : null}
    </Box>
  );
}

export function FilterLine() {
  const ui = useUi();
  const nav = useNav();
  const dispatch = useNavDispatch();
  const initial = nav[nav.length - 1]?.filter ?? '';
  const value = useLineInput({
    initial,
    onChange: (v) => dispatch({ type: 'patch', patch: { filter: v, selected: undefined } }),
    enter: 'keep',
    esc: 'clear',
    onSubmit: () => ui.closeInput(),
    onCancel() {
      dispatch({ type: 'patch', patch: { filter: '' } });
      ui.closeInput();
    },
  });
  return (
    <Text wrap="truncate">
      <Text color="yellow">/</Text>
      {value}
      <Text inverse> </Text>
      <Text dimColor> ⏎ keep · esc clear</Text>
    </Text>
  );
}

export function PaletteLine() {
  const ui = useUi();
  const dispatch = useNavDispatch();
  const value = useLineInput({
    enter: 'open',
    onSubmit(v) {
      ui.closeInput();
      if (!v.trim()) return;
      const r = parsePalette(v);
      if ('error' in r) ui.flash(r.error, 'error');
      else dispatch({ type: 'reset', views: r.views });
    },
    onCancel: () => ui.closeInput(),
  });
  const word = value.trim().split(/\s+/)[0] ?? '';
  const matches = PALETTE_COMMANDS.filter((c) => c.startsWith(word));
  return (
    <Text wrap="truncate">
      <Text color="cyan">:</Text>
      {value}
      <Text inverse> </Text>
      <Text dimColor> {matches.map((m) => `:${m}`).join('  ')}</Text>
    </Text>
  );
}

/** `?`: generated from the layers that are registered right now (active view + global). Laid out
 *  to fit the terminal: as many columns as fit (one when narrow), lines truncated, never wrapped,
 *  scrolled with ↑/↓ and pgup/pgdn when taller than the screen. */
export function HelpOverlay({ layers, height, width = 100 }: { layers: KeyLayer[]; height: number; width?: number }) {
  const ui = useUi();
  const keymap = useKeymap();
  const lines: HelpLine[] = [];
  const seen = new Set<string>();
  for (const l of layers) {
    const acts = l.actions.filter((a) => !seen.has(a.command));
    if (acts.length === 0) continue;
    lines.push({ title: l.title ?? 'keys' });
    for (const a of acts) {
      seen.add(a.command);
      const keys = (keymap.get(a.command) ?? []).map(displayKey).join(' ');
      lines.push({ keys, id: a.command, help: a.label ?? COMMANDS[a.command].help });
    }
  }
  const layout = helpLayout(lines, width, height);
  const [offset, setOffsetState] = useState(0);
  const offsetRef = useRef(0);
  const scroll = (by: number) => {
    offsetRef.current = Math.max(0, Math.min(layout.maxOffset, offsetRef.current + by));
    setOffsetState(offsetRef.current);
  };
  useKeyLayer({
    priority: PRIORITY.overlay,
    modal: true,
    actions: [],
    hints: [
      ...(layout.maxOffset > 0
        ? [
            { key: '↑/↓', label: 'scroll' },
            { key: 'pgup/pgdn', label: 'page' },
          ]
        : []),
      { key: 'esc', label: 'close' },
    ],
    onKey(_input, _key, name) {
      const line = layout.cols > 1 ? layout.perCol : 1;
      const page = layout.perCol * layout.cols;
      if (name === 'esc' || name === '?' || name === 'q' || name === 'enter') ui.closeOverlay();
      else if (name === 'down' || name === 'j') scroll(line);
      else if (name === 'up' || name === 'k') scroll(-line);
      else if (name === 'pgdown' || name === 'space' || name === 'ctrl+f') scroll(page);
      else if (name === 'pgup' || name === 'ctrl+b') scroll(-page);
      else if (name === 'home' || name === 'g') scroll(-Infinity);
      else if (name === 'end' || name === 'G') scroll(Infinity);
      return true;
    },
  });
  const from = Math.min(offset, layout.maxOffset);
  const shown = lines.slice(from, from + layout.perCol * layout.cols);
  const cols: HelpLine[][] = [];
  for (let i = 0; i < shown.length; i += layout.perCol) cols.push(shown.slice(i, i + layout.perCol));
  const scrolls = layout.maxOffset > 0;
  return (
    <Box flexDirection="column" height={height} width={width} overflow="hidden">
      <Text bold color="cyan" wrap="truncate">
        Help <Text dimColor>(esc to close; keys can be changed in ALOFT_HOME/keymap.yaml)</Text>
      </Text>
      <Box gap={HELP_GAP} height={layout.perCol} overflow="hidden">
        {cols.map((col, ci) => (
          <Box key={ci} flexDirection="column" width={layout.colWidth} flexShrink={0}>
            {col.map((l, i) =>
              l.title ? (
                <Text key={i} bold underline wrap="truncate">
                  {l.title}
                </Text>
              ) : (
                <Text key={i} wrap="truncate">
                  <Text color="yellow">{fitTo(l.keys ?? '', layout.keyWidth)}</Text> {fitTo(l.help ?? '', layout.helpWidth)}  <Text dimColor>{l.id}</Text>
                </Text>
              ),
            )}
          </Box>
        ))}
      </Box>
      {scrolls ? (
        <Text dimColor wrap="truncate">
          {from + 1}–{Math.min(lines.length, from + layout.perCol * layout.cols)} of {lines.length} · ↑/↓ scroll · pgup/pgdn page
        </Text>
      ) : null}
    </Box>
  );
}

interface HelpLine {
  title?: string;
  keys?: string;
  id?: string;
  help?: string;
}

const HELP_GAP = 3;

function fitTo(s: string, w: number): string {
  return s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s.padEnd(w);
}

/** Columns of help that fit `width` × `height` (title line and, when it scrolls, a footer line). */
export function helpLayout(lines: readonly HelpLine[], width: number, height: number) {
  const widest = (f: (l: HelpLine) => string | undefined, cap: number) =>
    Math.min(cap, Math.max(1, ...lines.map((l) => (l.title ? 0 : (f(l) ?? '').length))));
  let keyWidth = widest((l) => l.keys, 14);
  let helpWidth = widest((l) => l.help, 20);
  const idWidth = widest((l) => l.id, 20);
  const full = keyWidth + 1 + helpWidth + 2 + idWidth;
  const cols = Math.max(1, Math.floor((width + HELP_GAP) / (full + HELP_GAP)));
  const colWidth = cols > 1 ? full : Math.min(full, Math.max(1, width));
  if (cols === 1 && keyWidth + 1 + helpWidth > colWidth) {
    // Too narrow even without the command ids: keys keep what they can, descriptions are cut.
    keyWidth = Math.min(keyWidth, Math.max(1, Math.floor(colWidth / 2)));
    helpWidth = Math.max(1, colWidth - keyWidth - 1);
  }
  let perCol = Math.max(1, height - 1);
  if (lines.length > perCol * cols) perCol = Math.max(1, height - 2); // room for the footer
  const maxOffset = Math.max(0, lines.length - perCol * cols);
  return { cols, colWidth, keyWidth, helpWidth, perCol, maxOffset };
}

/** The layers help describes (captured when help opens, before its own modal layer). */
export function useHelpLayers(): KeyLayer[] {
  return useActiveLayers();
}
