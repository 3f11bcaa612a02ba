// GCE instances on the shared fake VM host (test/fakes/vms.ts): an instance's first boot creates
// a VM with the `ssh-keys` of its metadata and its `startup-script` / `user-data` as first-boot
// script; stop/start keep the VM's disk; a preemption reclaims it at once (no grace, as GCE's 30 s
// notice gives a job no time it can count on); the firewall's open ports become the VM's ingress
// on its public address; a guest `poweroff` is GCE's guest shutdown (instance TERMINATED).
import { VmHost, type Vm, type VmHostOptions } from '../vms.js';
import type { GceVms } from './model.js';

export interface GceVmHosts extends GceVms {
  host: VmHost;
  vm(instanceId: string): Vm | undefined;
}

export async function gceVmHosts(opts: VmHostOptions = {}): Promise<GceVmHosts> {
  const host = new VmHost(opts);
  const byInstance = new Map<string, Vm>();
  let guestShutdown: (id: string) => void = () => undefined;
  return {
    host,
    vm: (id) => byInstance.get(id),
    onGuestShutdown(fn) {
      guestShutdown = fn;
    },
    async boot(id, init) {
      let vm = byInstance.get(id);
      if (!vm || vm.state === 'terminated') {
        vm = host.create({ authorizedKeys: init.publicKeys, userData: init.userData, name: id });
        vm.on('guest-shutdown', () => guestShutdown(id));
        byInstance.set(id, vm);
      } else {
        await vm.start();
      }
      await vm.whenRunning();
      return { ip: vm.privateIp, externalIp: vm.publicIp };
    },
    async halt(id, how) {
      const vm = byInstance.get(id);
      if (!vm) return;
      if (how === 'preempt') await vm.reclaim();
      else await vm.stop();
    },
    async destroy(id) {
      const vm = byInstance.get(id);
      byInstance.delete(id);
      await vm?.terminate();
    },
    ingress(id, ports) {
      byInstance.get(id)?.setIngress(ports.map((p) => ({ from: p, to: p })));
    },
    async close() {
      await host.close();
    },
  };
}
