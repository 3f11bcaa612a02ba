// What a plan says besides its choice: fields the chosen infra drops.
import type { ResourcesSpec } from '../spec/types.js';

/**
 * Fields of a task the chosen infra cannot honour and drops: said once, in the plan and in the
 * launch's progress, instead of silently (a live infra's nodes are what they are).
 */
export function ignoredFieldsNote(cloud: string, spec: ResourcesSpec): string | undefined {
  if (cloud !== 'local' && cloud !== 'ssh') return undefined;
  const dropped: string[] = [];
  if (spec.instanceType !== undefined) dropped.push(`instance_type (${spec.instanceType})`);
  if (spec.diskSize !== undefined) dropped.push(`disk_size (${spec.diskSize})`);
  if (spec.diskTier !== undefined) dropped.push(`disk_tier (${spec.diskTier})`);
  if (spec.networkTier !== undefined) dropped.push(`network_tier (${spec.networkTier})`);
  if (spec.imageId !== undefined) dropped.push(`image_id (${typeof spec.imageId === 'string' ? spec.imageId : Object.values(spec.imageId).join(', ')})`);
  if (Object.keys(spec.labels).length > 0) dropped.push(`labels (${Object.keys(spec.labels).join(', ')})`);
  if (dropped.length === 0) return undefined;
  const what = cloud === 'local' ? "its nodes are this machine's directories" : 'its nodes are your machines as they are';
  return `Note: ${cloud} ignores ${dropped.join(', ')}: ${what}.`;
}
