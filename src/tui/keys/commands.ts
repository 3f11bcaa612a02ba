// Every key the dashboard reacts to is a named command with default keys; views register which
// commands they handle, and help and the hint bar are generated from those registrations.

export const COMMANDS = {
  'nav.up': { keys: ['up', 'k'], help: 'Move up' },
  'nav.down': { keys: ['down', 'j'], help: 'Move down' },
  'nav.pageUp': { keys: ['pgup', 'ctrl+b'], help: 'Page up' },
  'nav.pageDown': { keys: ['pgdown', 'ctrl+f'], help: 'Page down' },
  'nav.top': { keys: ['home', 'g'], help: 'Go to top' },
  'nav.bottom': { keys: ['end', 'G'], help: 'Go to bottom' },
  'nav.enter': { keys: ['enter'], help: 'Open' },
  'nav.back': { keys: ['esc'], help: 'Back' },
  'app.quit': { keys: ['q', 'ctrl+c'], help: 'Quit' },
  'app.help': { keys: ['?'], help: 'Help' },
  'palette.open': { keys: [':'], help: 'Command' },
  'filter.open': { keys: ['/'], help: 'Filter' },
  'sort.name': { keys: ['N'], help: 'Sort by name (again: reverse)' },
  'sort.age': { keys: ['A'], help: 'Sort by age (again: reverse)' },
  'sort.status': { keys: ['S'], help: 'Sort by status (again: reverse)' },
  'view.logs': { keys: ['l'], help: 'Logs' },
  'view.jobs': { keys: ['J'], help: 'Jobs' },
  'view.managed': { keys: ['M'], help: 'Managed jobs' },
  'view.describe': { keys: ['d'], help: 'Describe' },
  'view.yaml': { keys: ['y'], help: 'YAML' },
  'cluster.shell': { keys: ['s'], help: 'Shell' },
  'cluster.stop': { keys: ['p'], help: 'Stop' },
  'cluster.start': { keys: ['u'], help: 'Start' },
  'cluster.down': { keys: ['ctrl+d'], help: 'Down' },
  'cluster.autostop': { keys: ['a'], help: 'Autostop' },
  'cluster.launch': { keys: ['n'], help: 'Launch' },
  'job.cancel': { keys: ['ctrl+k'], help: 'Cancel job' },
  'service.down': { keys: ['ctrl+d'], help: 'Tear the service down' },
  'service.balancer': { keys: ['b'], help: "Load balancer's log" },
  // k9s's 0 in a namespaced view: every namespace
  'jobs.all': { keys: ['0'], help: 'Jobs of all clusters' },
  // Text views (logs, describe, YAML). k9s keys: s autoscroll, f fullscreen, w wrap, t timestamps.
  'logs.follow': { keys: ['s'], help: 'Autoscroll' },
  'logs.fullscreen': { keys: ['f'], help: 'Fullscreen' },
  'logs.wrap': { keys: ['w'], help: 'Wrap' },
  'logs.timestamps': { keys: ['t'], help: 'Timestamps' },
  'text.search': { keys: ['/'], help: 'Search' },
  'text.next': { keys: ['n'], help: 'Next match' },
  'text.prev': { keys: ['N'], help: 'Previous match' },
  'text.filter': { keys: ['F'], help: 'Only matching lines' },
  // k9s's container picker: 0 all, 1…9 the first…ninth (rank 0 is the head).
  'logs.rankAll': { keys: ['0'], help: 'All ranks' },
  'logs.rank1': { keys: ['1'], help: 'Rank 0 (head) only' },
  'logs.rank2': { keys: ['2'], help: 'Rank 1 only' },
  'logs.rank3': { keys: ['3'], help: 'Rank 2 only' },
  'logs.rank4': { keys: ['4'], help: 'Rank 3 only' },
  'logs.rank5': { keys: ['5'], help: 'Rank 4 only' },
  'logs.rank6': { keys: ['6'], help: 'Rank 5 only' },
  'logs.rank7': { keys: ['7'], help: 'Rank 6 only' },
  'logs.rank8': { keys: ['8'], help: 'Rank 7 only' },
  'logs.rank9': { keys: ['9'], help: 'Rank 8 only' },
} as const satisfies Record<string, { keys: readonly string[]; help: string }>;

export type CommandId = keyof typeof COMMANDS;

export const COMMAND_IDS = Object.keys(COMMANDS) as CommandId[];

export function isCommandId(s: string): s is CommandId {
  return Object.prototype.hasOwnProperty.call(COMMANDS, s);
}

/** What Ink tells us about a keypress (the subset we use). */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  tab?: boolean;
  shift?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** Canonical name of a keypress: "j", "G", "enter", "ctrl+d", "up" ... */
export function keyName(input: string, key: KeyInfo): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pgup';
  if (key.pageDown) return 'pgdown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'esc';
  if (key.tab) return key.shift ? 'shift+tab' : 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input) return `ctrl+${input.toLowerCase()}`;
  if (input === ' ') return 'space';
  return input;
}

/** Normalizes what users write in keymap.yaml ("Ctrl-D", "ESC", "Return") to keyName() spelling. */
export function normalizeKey(k: string): string {
  const s = k.trim();
  if (s.length === 1) return s;
  const lower = s.toLowerCase().replace(/-/g, '+');
  const aliases: Record<string, string> = {
    escape: 'esc', return: 'enter', pageup: 'pgup', pagedown: 'pgdown', 'page+up': 'pgup', 'page+down': 'pgdown',
    delete: 'backspace', del: 'backspace', space: 'space', spacebar: 'space',
  };
  if (aliases[lower]) return aliases[lower]!;
  const m = lower.match(/^ctrl\+(.)$/);
  if (m) return `ctrl+${m[1]}`;
  return lower;
}

export interface Keymap extends ReadonlyMap<CommandId, readonly string[]> {
  /** what loading keymap.yaml had to say (conflicting bindings it did not take) */
  readonly warnings?: readonly string[];
}

const LISTS = ['clusters', 'jobs', 'requests', 'events', 'gpus', 'managed', 'services'] as const;
/** views that show text: a job's log, a describe page, a task's YAML */
const TEXT = ['logs', 'describe'] as const;
const EVERYWHERE = [...LISTS, ...TEXT] as const;
/** the rank keys, in order: `logs.rank1` is the first rank (rank 0, the head) */
export const RANK_COMMANDS = ['logs.rank1', 'logs.rank2', 'logs.rank3', 'logs.rank4', 'logs.rank5', 'logs.rank6', 'logs.rank7', 'logs.rank8', 'logs.rank9'] as const;

/** The views where a command is live: two commands on one key conflict when these overlap. */
export function commandViews(id: CommandId): readonly string[] {
  if (id.startsWith('cluster.') || id === 'view.managed') return ['clusters'];
  if (id === 'logs.wrap') return TEXT;
  if (id.startsWith('logs.')) return ['logs'];
  if (id.startsWith('text.')) return TEXT;
  if (id.startsWith('sort.')) return ['clusters', 'jobs', 'requests', 'managed', 'services'];
  if (id.startsWith('service.')) return ['services'];
  switch (id) {
    case 'job.cancel':
      return ['jobs', 'managed'];
    case 'jobs.all':
      return ['jobs'];
    case 'view.logs':
      return ['clusters', 'jobs', 'requests', 'managed', 'services'];
    case 'view.jobs':
      return ['clusters', 'requests'];
    case 'view.describe':
    case 'view.yaml':
      return ['clusters', 'jobs', 'requests', 'managed'];
    case 'nav.enter':
    case 'filter.open':
      return LISTS;
    default:
      return EVERYWHERE;
  }
}

/** Pairs of commands bound to the same key where both are live: [key, a, b]. */
export function keymapConflicts(km: ReadonlyMap<CommandId, readonly string[]>): Array<[string, CommandId, CommandId]> {
  const out: Array<[string, CommandId, CommandId]> = [];
  for (const [key, ids] of indexKeymap(km)) {
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const vb = commandViews(ids[j]!);
        if (commandViews(ids[i]!).some((v) => vb.includes(v))) out.push([key, ids[i]!, ids[j]!]);
      }
    }
  }
  return out;
}

export function defaultKeymap(): Map<CommandId, readonly string[]> {
  return new Map(COMMAND_IDS.map((id) => [id, COMMANDS[id].keys]));
}

/** Reverse index for dispatch: key name → commands bound to it (a key may serve several). */
export function indexKeymap(km: Keymap): Map<string, CommandId[]> {
  const idx = new Map<string, CommandId[]>();
  for (const [id, keys] of km) {
    for (const k of keys) {
      const list = idx.get(k) ?? [];
      list.push(id);
      idx.set(k, list);
    }
  }
  return idx;
}

/** How a key is shown in hints and help. */
export function displayKey(k: string): string {
  const pretty: Record<string, string> = { up: '↑', down: '↓', left: '←', right: '→', enter: '⏎', esc: 'esc' };
  if (pretty[k]) return pretty[k]!;
  if (k.startsWith('ctrl+')) return `^${k.slice(5).toUpperCase()}`;
  if (k.length === 1 && k >= 'A' && k <= 'Z') return `⇧${k}`;
  return k;
}
