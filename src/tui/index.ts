// What the CLI calls: `runTop` (the live dashboard) and `onceText` (`aloft top --once`).
export { runTop, type RunTopOptions } from './run.js';
export { onceText } from './once.js';
export { loadKeymap, KeymapError } from './keys/keymap-file.js';
export { loadGpuCatalog } from './data/gpus.js';
export { completePath, listTaskFiles } from './data/tasks.js';
export { managedLogStreamer, serveLogStreamer } from './data/managed-logs.js';
