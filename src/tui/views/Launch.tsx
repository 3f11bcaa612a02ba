// The launch key, like `aloft launch` on the command line: a task YAML (tab completes the path),
// the cluster name, infra, GPUs and --use-spot, and a value for each env and secret the YAML
// declares without one. ⏎ shows the plan `aloft launch --dryrun --explain` prints for exactly that
// command line; Launch starts it and the cursor lands on its request in Requests.
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Box, Text } from 'ink';
import { relative } from 'node:path';
import type { Task } from '../../spec/types.js';
import { errorMessage } from '../../util/errors.js';
import { useDeps, useNavDispatch, useUi } from '../context.js';
import { launchCommand, type LaunchForm, type TaskVariables } from '../data/launch.js';
import { PRIORITY, useKeyLayer } from '../keys/dispatcher.js';
import { editLine } from '../keys/line-edit.js';
import { commonPrefix, completeForm, emptyForm, fieldValue, formFields, isTaskPath, withField, type FieldId } from './launch-form.js';

type Step =
  | { at: 'form' }
  | { at: 'planning'; form: LaunchForm }
  | { at: 'plan'; form: LaunchForm; task: Task; lines: string[]; scroll: number; focus: 0 | 1 }
  | { at: 'launching'; form: LaunchForm };

const LABEL_WIDTH = 10;
const NO_VARS: TaskVariables = { envs: [], secrets: [] };

/** Paths under the current directory read best relative; others (aloft's examples/) in full. */
function shown(f: string): string {
  const r = relative(process.cwd(), f);
  return r && !r.startsWith('..') ? r : f;
}

export function LaunchOverlay({ height, width }: { height: number; width: number }) {
  const deps = useDeps();
  const ui = useUi();
  const nav = useNavDispatch();
  const taskFiles = useMemo(() => (deps.listTaskFiles?.() ?? []).map(shown), [deps]);
  const [form, setFormState] = useState<LaunchForm>(emptyForm);
  const formRef = useRef(form);
  // tab pressed again when the common prefix cannot grow: step through the candidates (zsh)
  const cycle = useRef<{ list: string[]; i: number } | null>(null);
  const setForm = (f: LaunchForm) => {
    formRef.current = f;
    setFormState(f);
  };
  const [vars, setVars] = useState<{ path: string; vars: TaskVariables } | null>(null);
  const [focus, setFocus] = useState(0);
  const [step, setStep] = useState<Step>({ at: 'form' });
  const fields = formFields(vars && vars.path === form.path.trim() ? vars.vars : null);
  const field = fields[Math.min(focus, fields.length - 1)]!;

  // What the path completes to: the YAMLs found in the current directory and examples/ first,
  // then whatever the file system has under what was typed.
  const completions = useMemo(() => {
    const typed = form.path;
    const fromFs = deps.completePath?.(typed) ?? [];
    const known = taskFiles.filter((f) => f.startsWith(typed) && f !== typed);
    return [...new Set([...known, ...fromFs])].filter((c) => c !== typed);
  }, [form.path, deps, taskFiles]);

  /** The envs and secrets the YAML needs values for (loaded once per path). */
  const loadVars = async (path: string): Promise<TaskVariables> => {
    if (vars && vars.path === path) return vars.vars;
    const v = deps.taskVariables ? await deps.taskVariables(path) : NO_VARS;
    setVars({ path, vars: v });
    return v;
  };

  const plan = async () => {
    const f = formRef.current;
    const path = f.path.trim();
    if (!isTaskPath(path)) return ui.flash('launch: give a task YAML (a .yaml file; tab completes)', 'warn');
    let v: TaskVariables;
    try {
      v = await loadVars(path);
    } catch (err) {
      return ui.flash(`${path}: ${errorMessage(err)}`, 'error');
    }
    const { form: full, missing } = completeForm(f, v);
    if (missing.length) {
      const first = formFields(v).indexOf(missing[0]!.replace(' ', ':') as FieldId);
      if (first >= 0) setFocus(first);
      return ui.flash(`launch: ${missing.join(', ')} ${missing.length > 1 ? 'have' : 'has'} no value (declared in the YAML without one, not set in your shell)`, 'warn');
    }
    setStep({ at: 'planning', form: full });
  };

  useEffect(() => {
    if (step.at !== 'planning') return;
    let live = true;
    (async () => {
      if (!deps.prepareLaunch) throw new Error('launching is not available in this build');
      const task = await deps.prepareLaunch(step.form);
      // exactly what `aloft launch --dryrun --explain` prints for this command line
      const p = await deps.client.call('plan', { tasks: [task], explain: true });
      if (live) setStep({ at: 'plan', form: step.form, task, lines: p.text.split('\n'), scroll: 0, focus: 1 });
    })().catch((err: unknown) => {
      if (!live) return;
      ui.flash(`${step.form.path}: ${errorMessage(err)}`, 'error');
      setStep({ at: 'form' });
    });
    return () => {
      live = false;
    };
  }, [step, deps, ui]);

  const launch = (f: LaunchForm, task: Task) => {
    setStep({ at: 'launching', form: f });
    deps.client.call('launch', { task, ...(f.cluster ? { cluster: f.cluster } : {}) }).then(
      (r) => {
        ui.closeOverlay();
        ui.flash(`launching ${r.cluster} (request ${r.requestId})`);
        // the cursor waits for the new request's row, however the list is sorted
        nav({ type: 'reset', views: [{ kind: 'clusters' }, { kind: 'requests' }], want: r.requestId });
      },
      (err: unknown) => {
        ui.closeOverlay();
        ui.flash(`launch: ${errorMessage(err)}`, 'error');
      },
    );
  };

  const planBody = Math.max(1, height - 4);
  useKeyLayer({
    priority: PRIORITY.overlay,
    modal: true,
    actions: [],
    hints:
      step.at === 'plan'
        ? [
            { key: '←/→', label: 'choose' },
            { key: '⏎', label: step.focus === 1 ? 'launch' : 'back' },
            { key: '↑/↓', label: 'scroll' },
            { key: 'esc', label: 'back' },
          ]
        : [
            { key: '⏎', label: 'plan' },
            { key: '↑/↓', label: 'field' },
            ...(field === 'path' ? [{ key: 'tab', label: 'complete' }] : field === 'spot' ? [{ key: 'space', label: 'toggle' }] : []),
            { key: 'esc', label: 'close' },
          ],
    onKey(input, key, name) {
      if (step.at === 'planning' || step.at === 'launching') {
        if (name === 'esc') setStep({ at: 'form' });
        return true;
      }
      if (step.at === 'plan') {
        const max = Math.max(0, step.lines.length - planBody);
        const scroll = (to: number) => setStep({ ...step, scroll: Math.max(0, Math.min(max, to)) });
        if (name === 'esc' || name === 'q') setStep({ at: 'form' });
        else if (name === 'left' || name === 'right' || name === 'tab' || name === 'h' || name === 'l') setStep({ ...step, focus: step.focus === 1 ? 0 : 1 });
        else if (name === 'enter') step.focus === 1 ? launch(step.form, step.task) : setStep({ at: 'form' });
        else if (name === 'down' || name === 'j') scroll(step.scroll + 1);
        else if (name === 'up' || name === 'k') scroll(step.scroll - 1);
        else if (name === 'pgdown' || name === 'space') scroll(step.scroll + planBody);
        else if (name === 'pgup') scroll(step.scroll - planBody);
        return true;
      }
      const f = formRef.current;
      const onVarsError = (err: unknown) => ui.flash(`${f.path.trim()}: ${errorMessage(err)}`, 'error');
      if (name !== 'tab') cycle.current = null;
      if (name === 'esc') ui.closeOverlay();
      else if (name === 'enter') {
        if (field === 'path' && isTaskPath(f.path) && !(vars && vars.path === f.path.trim())) {
          // the YAML's own fields first: when it declares envs or secrets without a value that
          // the shell does not have either, the cursor goes there; else straight to the plan
          loadVars(f.path.trim()).then((v) => {
            const { missing } = completeForm(f, v);
            if (!missing.length) return void plan();
            setFocus(formFields(v).indexOf(missing[0]!.replace(' ', ':') as FieldId));
          }, onVarsError);
        } else void plan();
      } else if (name === 'down' || (name === 'tab' && field !== 'path')) {
        if (field === 'path' && isTaskPath(f.path)) loadVars(f.path.trim()).catch(onVarsError);
        setFocus(Math.min(fields.length - 1, focus + 1));
      } else if (name === 'up' || name === 'shift+tab') setFocus(Math.max(0, focus - 1));
      else if (name === 'tab') {
        const c = cycle.current;
        if (c && f.path === c.list[c.i]) {
          c.i = (c.i + 1) % c.list.length;
          setForm({ ...f, path: c.list[c.i]! });
        } else {
          // shell-like: the longest common prefix; a single match is taken whole
          const prefix = completions.length === 1 ? completions[0]! : commonPrefix(completions);
          if (prefix.length > f.path.length) setForm({ ...f, path: prefix });
          else if (completions.length) {
            cycle.current = { list: completions, i: 0 };
            setForm({ ...f, path: completions[0]! });
          }
        }
      } else if (field === 'spot') {
        if (name === 'space' || name === 'y' || name === 'n') setForm({ ...f, useSpot: name === 'space' ? !f.useSpot : name === 'y' });
      } else {
        const next = editLine(fieldValue(f, field), input, key, name);
        if (next !== null) setForm(withField(f, field, next));
      }
      return true;
    },
  });

  if (step.at === 'planning' || step.at === 'launching') {
    return (
      <Box flexDirection="column" height={height} width={width}>
        <Text color="cyan">
          {step.at === 'planning' ? 'planning' : 'launching'} {step.form.path}…
        </Text>
        <Text dimColor wrap="truncate">
          {launchCommand(step.form)}
        </Text>
      </Box>
    );
  }
  if (step.at === 'plan') {
    const lines = step.lines.slice(step.scroll, step.scroll + planBody);
    const more = step.lines.length > planBody;
    return (
      <Box flexDirection="column" height={height} width={width}>
        <Text bold color="cyan" wrap="truncate">
          Plan <Text dimColor>{launchCommand(step.form)} --dryrun --explain</Text>
        </Text>
        <Box flexDirection="column" height={planBody}>
          {lines.map((l, i) => (
            <Text key={i} wrap="truncate">
              {l || ' '}
            </Text>
          ))}
        </Box>
        <Box gap={2} marginTop={1} flexShrink={0}>
          <Text inverse={step.focus === 0} bold={step.focus === 0}>
            {step.focus === 0 ? '[ Cancel ]' : '  Cancel  '}
          </Text>
          <Text inverse={step.focus === 1} bold={step.focus === 1} color={step.focus === 1 ? 'green' : undefined}>
            {step.focus === 1 ? '[ Launch ]' : '  Launch  '}
          </Text>
          <Text dimColor wrap="truncate">
            {more ? `lines ${step.scroll + 1}–${Math.min(step.lines.length, step.scroll + planBody)} of ${step.lines.length} · ↑/↓ scroll` : ''}
          </Text>
        </Box>
      </Box>
    );
  }

  // The form: one line per field; under the path, what it completes to (as many as fit).
  const varsFor = vars && vars.path === form.path.trim() ? vars.vars : null;
  const placeholder: Partial<Record<FieldId, string>> = { cluster: '(generated)', infra: '(the optimizer chooses)', gpus: '(as the YAML says)' };
  const labelOf = (id: FieldId) => (id === 'path' ? 'YAML' : id === 'spot' ? 'use spot' : id.startsWith('env:') ? `env ${id.slice(4)}` : id.startsWith('secret:') ? `secret ${id.slice(7)}` : id);
  const inShell = (id: FieldId) =>
    id.startsWith('env:') ? varsFor?.envs.find((v) => v.name === id.slice(4))?.inShell : id.startsWith('secret:') ? varsFor?.secrets.find((v) => v.name === id.slice(7))?.inShell : false;
  const room = Math.max(0, height - fields.length - 3);
  const shownCompletions = field === 'path' ? completions.slice(0, room) : [];
  const labelWidth = Math.max(LABEL_WIDTH, ...fields.map((id) => labelOf(id).length + 1));
  return (
    <Box flexDirection="column" height={height} width={width}>
      <Text bold color="cyan" wrap="truncate">
        Launch a task <Text dimColor>(⏎ plan · ↑/↓ field · tab complete · esc close)</Text>
      </Text>
      {fields.map((id, i) => {
        const on = i === Math.min(focus, fields.length - 1);
        const v = fieldValue(form, id);
        let text: ReactNode;
        if (id === 'spot') text = <Text>{form.useSpot ? '[x]' : '[ ]'}</Text>;
        else if (id.startsWith('secret:')) text = <Text>{'•'.repeat(v.length)}</Text>;
        else text = <Text>{v}</Text>;
        const hint = !v && id !== 'spot' ? (inShell(id) ? '(empty: taken from your shell)' : (placeholder[id] ?? (id.includes(':') ? '(needs a value)' : ''))) : '';
        return (
          <Box key={id} flexDirection="column">
            <Text wrap="truncate" inverse={false}>
              <Text color={on ? 'cyan' : undefined} bold={on}>
                {on ? '▸ ' : '  '}
                {labelOf(id).padEnd(labelWidth)}
              </Text>
              {text}
              {on && id !== 'spot' ? <Text inverse> </Text> : null}
              {hint ? <Text dimColor> {hint}</Text> : null}
            </Text>
            {id === 'path' && on
              ? shownCompletions.map((c) => (
                  <Text key={c} dimColor wrap="truncate">
                    {' '.repeat(labelWidth + 2)}
                    {c}
                  </Text>
                ))
              : null}
          </Box>
        );
      })}
      {isTaskPath(form.path) ? (
        <Text dimColor wrap="truncate">
          {launchCommand(completeForm(form, varsFor ?? NO_VARS).form)}
        </Text>
      ) : null}
    </Box>
  );
}
