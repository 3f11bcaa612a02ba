// The light entry of the spec module: building a task from a command and CLI flags, without the
// YAML parser or the schema library (they cost ~100 ms to load; `exec -- CMD` needs neither).
export { applyOverrides, parseKeyValueFlags, taskFromCommand, type TaskOverrides } from './overrides.js';
