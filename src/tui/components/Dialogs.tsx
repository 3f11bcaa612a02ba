// Modal pieces: confirm dialog, text prompt, `/` filter and `:` palette input lines, help.
import { useRef, useState } from 'react';
import { Box, Text } from 'ink';
import { useNav, useNavDispatch, useUi, type ConfirmRequest, type PromptRequest } from '../context.js';
import { COMMANDS, displayKey } from '../keys/commands.js';
import { PRIORITY, useActiveLayers, useKeyLayer, useKeymap, type KeyLayer } from '../keys/dispatcher.js';
import { PALETTE_COMMANDS, parsePalette } from '../state/nav.js';

export function ConfirmDialog({ req, width }: { req: ConfirmRequest; width: number }) {
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
    onKey(input, key, name) {
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
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="yellow" paddingX={1} width={Math.min(width, 70)}>
      <Text bold color="yellow">
        {req.title}
      </Text>
      <Text wrap="wrap">{req.message}</Text>
      <Box marginTop={1} gap={2}>
        {button('Cancel', focus === 0, 'white')}
        {button(req.confirmLabel, focus === 1, 'red')}
      </Box>
      <Text dimColor>←/→ choose · ⏎ confirm · esc cancel</Text>
    </Box>
  );
}

/** Line editing shared by prompt, filter and palette. */
function useLineInput(opts: {
  initial?: string;
  onChange?(v: string): void;
  onSubmit(v: string): void;
  onCancel(): void;
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
    onKey(input, key, name) {
      const v = current.current;
      if (name === 'enter') opts.onSubmit(v);
      else if (name === 'esc') opts.onCancel();
      else if (name === 'backspace') set(v.slice(0, -1));
      else if (name === 'ctrl+u') set('');
      else if (input && !key.ctrl && !key.meta && !/[\u0000-\u001f]/.test(input)) set(v + input);
      return true;
    },
  });
  return value;
}

export function PromptDialog({ req, width }: { req: PromptRequest; width: number }) {
  const ui = useUi();
  const value = useLineInput({
    initial: req.initial,
    onSubmit(v) {
      ui.closeOverlay();
      req.onSubmit(v);
    },
    onCancel: () => ui.closeOverlay(),
  });
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1} width={Math.min(width, 70)}>
      <Text bold>{req.title}</Text>
      <Text>
        <Text color="cyan">› </Text>
        {value}
        <Text inverse> </Text>
      </Text>
      <Text dimColor>⏎ apply · esc cancel</Text>
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

/** `?`: generated from the layers that are registered right now (active view + global). */
export function HelpOverlay({ layers, height }: { layers: KeyLayer[]; height: number }) {
  const ui = useUi();
  const keymap = useKeymap();
  useKeyLayer({
    priority: PRIORITY.overlay,
    modal: true,
    actions: [],
    onKey(_input, _key, name) {
      if (name === 'esc' || name === '?' || name === 'q' || name === 'enter') ui.closeOverlay();
      return true;
    },
  });
  const lines: Array<{ title?: string; keys?: string; id?: string; help?: string }> = [];
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
  // Two columns when the list is taller than the screen.
  const perCol = Math.max(1, height - 2);
  const cols: (typeof lines)[] = [];
  for (let i = 0; i < lines.length; i += perCol) cols.push(lines.slice(i, i + perCol));
  return (
    <Box flexDirection="column" height={height}>
      <Text bold color="cyan">
        Help <Text dimColor>(esc to close; keys can be changed in ALOFT_HOME/keymap.yaml)</Text>
      </Text>
      <Box gap={4}>
        {cols.map((col, ci) => (
          <Box key={ci} flexDirection="column">
            {col.map((l, i) =>
              l.title ? (
                <Text key={i} bold underline>
                  {l.title}
                </Text>
              ) : (
                <Text key={i} wrap="truncate">
                  <Text color="yellow">{(l.keys ?? '').padEnd(12)}</Text> {(l.help ?? '').padEnd(18)} <Text dimColor>{l.id}</Text>
                </Text>
              ),
            )}
          </Box>
        ))}
      </Box>
    </Box>
  );
}

/** The layers help describes (captured when help opens, before its own modal layer). */
export function useHelpLayers(): KeyLayer[] {
  return useActiveLayers();
}
