// Behaviour of every text view (a job's log, a describe page, a task's YAML), k9s-style: scroll
// and autoscroll, wrap, `/` search with its hits marked, `n`/`N` from hit to hit, and a filter
// mode that shows only the matching lines. Views compose it with their own keys (the log's rank
// picker, timestamps, fullscreen). The lines are tested as they arrive (LineIndex), and a frame
// only lays out the rows on screen (textWindow).
import { useMemo, useRef, useState, type ReactNode } from 'react';
import { Text } from 'ink';
import { useUi } from '../context.js';
import { useExpectModal, type KeyAction } from '../keys/dispatcher.js';
import { useLineInput } from '../components/Dialogs.js';
import { LineIndex, lineMatches, query as toQuery, type LinePredicate, type Query } from '../state/lineindex.js';
import type { TextLog } from '../state/textlog.js';
import { allLines, indexedLines, textWindow, withHead, type LineSource, type TextWindow } from '../render/textwindow.js';

export interface TextViewOptions {
  log: TextLog;
  /** bumps when the log changes (the view re-renders on it) */
  version: number;
  height: number;
  width: number;
  /** only lines passing this are shown (the rank picker); `key` names it, so a change re-indexes */
  only?: { key: string; test: LinePredicate };
  /** a line of the view's own before the first one ("… 2,000 earlier lines not kept") */
  head?: string;
  stamps?: boolean;
  /** start following the end (a live log) */
  follow?: boolean;
}

export interface TextView {
  window: TextWindow;
  follow: boolean;
  setFollow(on: boolean): void;
  wrap: boolean;
  /** scroll keys, wrap, search, next/previous hit, filter mode */
  actions: KeyAction[];
  /** what the status line says about the search ("/loss 3/17 · only matches") */
  searchStatus: string;
  /** the search input while typing, else null */
  searchLine: ReactNode;
  /** lines shown (after the rank picker and filter mode) */
  shown: number;
}

const lowered = (q: Query | undefined) => q?.text ?? '';

export function useTextView(o: TextViewOptions): TextView {
  const ui = useUi();
  const expectModal = useExpectModal();
  const [follow, setFollowState] = useState(o.follow ?? false);
  // The first line shown when not following: an absolute line number (null: the very start), so
  // it stays on the same line when the filter changes or older lines are dropped.
  const [topAbs, setTopAbs] = useState<number | null>(null);
  const [wrap, setWrap] = useState(false);
  const [typing, setTyping] = useState(false);
  const [q, setQ] = useState<Query | undefined>(undefined);
  const [onlyMatches, setOnlyMatches] = useState(false);
  const [current, setCurrent] = useState<number | undefined>(undefined);

  // Indexes are rebuilt when what they test changes, and brought up to date every render.
  const onlyKey = o.only?.key ?? '';
  const onlyTest = o.only?.test;
  const shownIndex = useMemo(() => {
    const rank = onlyTest;
    const qq = onlyMatches ? q : undefined;
    if (!rank && !qq) return undefined;
    return new LineIndex((log, i) => (!rank || rank(log, i)) && (!qq || lineMatches(qq, log.text(i))));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [onlyKey, onlyMatches, lowered(q), q?.caseSensitive, o.log]);
  const hitIndex = useMemo(() => {
    if (!q) return undefined;
    const rank = onlyTest;
    return new LineIndex((log, i) => !log.meta(i) && (!rank || rank(log, i)) && lineMatches(q, log.text(i)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [onlyKey, lowered(q), q?.caseSensitive, o.log]);
  shownIndex?.sync(o.log);
  hitIndex?.sync(o.log);

  let src: LineSource = shownIndex ? indexedLines(o.log, shownIndex) : allLines(o.log);
  if (o.head && !shownIndex) src = withHead(src, o.head);
  const top = topAbs === null ? 0 : src.positionOf(topAbs);
  const win = textWindow(src, { height: o.height, width: o.width, wrap, follow, top, stamps: o.stamps ?? false, query: q, current });

  const firstAbs = (pos: number): number | null => {
    const p = Math.max(0, Math.min(pos, src.length - 1));
    return src.abs(p) ?? null;
  };
  const scrollTo = (pos: number) => {
    setFollowState(false);
    setTopAbs(pos <= 0 ? null : firstAbs(pos));
  };
  const setFollow = (on: boolean) => {
    // turning autoscroll off keeps the lines on screen where they are
    if (!on) setTopAbs(firstAbs(win.top));
    setFollowState(on);
  };
  /** Brings absolute line `a` on screen, a few lines below the top (a search hit). */
  const show = (a: number) => {
    setCurrent(a);
    const pos = src.positionOf(a);
    if (follow || pos < win.top || pos >= win.top + Math.max(1, win.rows.length) - (win.atEnd ? 0 : 1)) scrollTo(Math.max(0, pos - 2));
  };
  const latest = useRef({ show, hitIndex, win, current, src, follow });
  latest.current = { show, hitIndex, win, current, src, follow };

  /** From the current hit (or the top of the screen) to the next / previous one, wrapping around. */
  const step = (dir: 1 | -1) => {
    const { hitIndex: idx, win: w, current: cur, src: s } = latest.current;
    if (!idx) return ui.flash('no search: / to search', 'warn');
    const n = idx.count;
    if (n === 0) return ui.flash('no line matches the search', 'warn');
    let k: number;
    if (cur !== undefined) k = idx.rankOf(cur) + dir;
    else {
      const first = idx.rankOf(s.abs(w.top) ?? s.abs(Math.min(w.top + 1, s.length - 1)) ?? 0);
      k = dir === 1 ? first : first - 1;
    }
    let wrapped = false;
    if (k >= n) [k, wrapped] = [0, true];
    if (k < 0) [k, wrapped] = [n - 1, true];
    latest.current.show(idx.absAt(k)!);
    if (wrapped) ui.flash(dir === 1 ? 'search hit the end, continued from the top' : 'search hit the top, continued from the end', 'warn');
  };
  /** A new search lands on the newest hit when following a live log, else the first below the top. */
  const land = () => {
    const { hitIndex: idx } = latest.current;
    if (!idx || idx.count === 0) return;
    if (latest.current.follow) latest.current.show(idx.absAt(idx.count - 1)!);
    else step(1);
  };

  const page = Math.max(1, o.height - 1);
  const actions: KeyAction[] = [
    { command: 'nav.up', run: () => scrollTo(win.top - 1), hideHint: true },
    { command: 'nav.down', run: () => (follow ? undefined : win.atEnd && win.rows.length < o.height ? undefined : scrollTo(win.top + 1)), hideHint: true },
    { command: 'nav.pageUp', run: () => scrollTo(win.top - page), hideHint: true },
    { command: 'nav.pageDown', run: () => (follow ? undefined : scrollTo(win.top + page)), hideHint: true },
    { command: 'nav.top', run: () => scrollTo(0), hideHint: true },
    { command: 'nav.bottom', run: () => setFollowState(true), hideHint: true },
    { command: 'logs.wrap', label: wrap ? 'Unwrap' : 'Wrap', run: () => setWrap((w) => !w) },
    {
      command: 'text.search',
      run: () => {
        expectModal();
        setTyping(true);
      },
    },
  ];
  if (q) {
    actions.push(
      { command: 'text.next', run: () => step(1) },
      { command: 'text.prev', run: () => step(-1), hideHint: true },
      {
        command: 'text.filter',
        label: onlyMatches ? 'All lines' : 'Only matches',
        run: () => {
          setOnlyMatches((m) => !m);
          setCurrent(undefined);
        },
      },
    );
  }

  let searchStatus = '';
  if (q) {
    const n = hitIndex?.count ?? 0;
    const at = current !== undefined && hitIndex ? hitIndex.rankOf(current) + 1 : 0;
    searchStatus = `/${q.text} ${n === 0 ? 'no match' : at ? `${at}/${n}` : `${n} match${n === 1 ? '' : 'es'}`}${onlyMatches ? ' · only matches' : ''}`;
  }
  // Typing a search marks its hits as it grows; ⏎ lands on one (esc drops the search).
  const searchLine = typing ? (
    <SearchInput
      count={q ? searchStatus.slice(q.text.length + 2) : ''}
      initial={q?.text ?? ''}
      onChange={(text) => {
        const nq = toQuery(text);
        setQ(nq);
        setCurrent(undefined);
        if (!nq) setOnlyMatches(false);
      }}
      onSubmit={(text) => {
        setTyping(false);
        // after the render that indexes the final text
        if (text) setTimeout(land, 0);
      }}
      onCancel={() => {
        setTyping(false);
        setQ(undefined);
        setOnlyMatches(false);
        setCurrent(undefined);
      }}
    />
  ) : null;

  return { window: win, follow, setFollow, wrap, actions, searchStatus, searchLine, shown: src.length };
}

function SearchInput(props: { count: string; initial: string; onChange(v: string): void; onSubmit(v: string): void; onCancel(): void }) {
  const value = useLineInput({ initial: props.initial, onChange: props.onChange, onSubmit: props.onSubmit, onCancel: props.onCancel, enter: 'search', esc: 'clear' });
  return (
    <Text wrap="truncate">
      <Text color="yellow">/</Text>
      {value}
      <Text inverse> </Text>
      {props.count ? <Text color="yellow"> {props.count}</Text> : null}
      <Text dimColor> ⏎ search · esc clear · then n/N next/previous</Text>
    </Text>
  );
}
