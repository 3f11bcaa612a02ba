// Public face of src/spec: task YAML parsing, CLI overrides, JSON Schema.
export type * from './types.js';
export { SpecError } from './errors.js';
export { parseTaskFile, parseTaskText, type ParseOptions } from './parse.js';
export { applyOverrides, parseKeyValueFlags, taskFromCommand, type TaskOverrides } from './overrides.js';
export { UNSUPPORTED_FEATURES } from './unsupported.js';
export { parseAccelerators, parseInfra, parsePorts, parseQuantity, parseSize } from './values.js';
