// The optimizer's public surface (the daemon and CLI import from here).
export type { Candidate, ConsideredRow, OptimizeContext, Plan } from './types.js';
export { planTask, planInputs, describeRequest, compareCandidates, InfeasibleError } from './plan.js';
export { planChain, solveChain, egressPerGB, type PipelineOptions, type PipelinePlan } from './chain.js';
export { planDag, solveDag, greedyPlacement, type TaskDag, type DagOptions } from './dag.js';
export { Blocklist, retryBackoffMs, type BlockEntry, type LaunchErrorKind } from './blocklist.js';
export { renderPlan, planToJson, candidateToJson, describeCandidate, infraString } from './render.js';
export { globMatch, normalizeCloud, parseInfraPattern, selectorMatches, formatInfra } from './infra.js';
export { contextFromMachine } from './context.js';
