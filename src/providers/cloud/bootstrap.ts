// What a fresh VM runs at first boot (cloud-init user-data on AWS, a startup script on GCP): the
// agent needs Node.js >= 20, which stock Ubuntu images do not have. Installed only when missing;
// the base waits for cloud-init before probing the VM (remote.ts probeHost).
import { MIN_NODE_MAJOR } from '../ssh/remote.js';

export const BOOTSTRAP_SCRIPT = `#!/bin/bash
# aloft: Node.js >= ${MIN_NODE_MAJOR} for the node agent, when the image does not have it.
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt ${MIN_NODE_MAJOR} ]; then
  export DEBIAN_FRONTEND=noninteractive
  if command -v apt-get >/dev/null 2>&1; then
    curl -fsSL https://deb.nodesource.com/setup_${MIN_NODE_MAJOR}.x | bash - && apt-get install -y nodejs
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y nodejs${MIN_NODE_MAJOR} || dnf install -y nodejs
  fi
fi
`;

/** Waits for first-boot scripts to finish (the probe must not race the Node.js install). */
export const WAIT_FOR_BOOT = 'if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1; fi; true';
