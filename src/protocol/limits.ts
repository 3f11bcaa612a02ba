// Limits on what one task may ask for. A task is small (SkyPilot's example YAMLs are under 8 KB,
// with a handful of candidates and documents); these are orders of magnitude above any real one
// and only keep a hostile or broken input from costing the daemon minutes and gigabytes. The YAML
// parser (src/spec) and the daemon's API schemas (schemas.ts) enforce the same numbers, and every
// refusal names the limit.

/** bytes of one task YAML file */
export const MAX_YAML_BYTES = 1024 * 1024;
/** documents (`---`) in one YAML: pipeline tasks */
export const MAX_DOCUMENTS = 100;
/** resource candidates of one task (any_of / ordered items, accelerator alternatives) */
export const MAX_CANDIDATES = 100;
/** entries of `envs:`, and of `secrets:` */
export const MAX_ENVS = 1000;
/** nodes of one cluster */
export const MAX_NUM_NODES = 10_000;
/** YAML aliases resolved in one document (a "billion laughs" stops here) */
export const MAX_ALIASES = 1000;
