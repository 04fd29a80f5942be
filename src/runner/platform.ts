import { arch, platform, release } from 'node:os';

/** The host's platform in Drone's (Go's) words, which is what pipelines' `platform:` says. */
export function hostPlatform(): { os: string; arch: string; variant: string; kernel: string } {
  const goos: Record<string, string> = { win32: 'windows', darwin: 'darwin', linux: 'linux', freebsd: 'freebsd', openbsd: 'openbsd' };
  const goarch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const hostArch = arch();
  // Node reports 'arm' for every 32-bit ARM; Drone's default variant for arm is v7.
  return { os: goos[platform()] ?? platform(), arch: goarch[hostArch] ?? hostArch, variant: hostArch === 'arm' ? 'v7' : '', kernel: release() };
}
