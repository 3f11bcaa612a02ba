// A bucket mount as decided at launch (store, region, what the node sees), kept in the cluster's
// internal state so stop/start/down can unmount and remount it. No credentials in here.
import type { StorageMode } from '../spec/types.js';

export interface MountPlan {
  /** as the task wrote it (~/x or /x) */
  dest: string;
  /** as the node sees it: relative to the node's home, or absolute */
  path: string;
  mode: StorageMode;
  store: string;
  bucket: string;
  prefix: string;
  /** the bucket's region when it differs from the store's default (AWS) */
  region?: string;
  /** the source is one object (a shorthand `DEST: s3://bucket/key`) */
  object?: boolean;
  readOnly: boolean;
  rcloneFlags: string[];
  /** s3://bucket/prefix, for messages */
  url: string;
}
