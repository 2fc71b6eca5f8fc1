// Programs inside the simulated containers: one table from an image to the
// executables it holds, each a function that behaves as the real program does
// (output formats, exit codes). The exec endpoint (../exec.ts) looks argv[0] up
// here the way runc does (a path as given, a bare name along PATH); a name the
// image does not hold fails as the container runtime reports it.
//
// A program never opens a real socket: whatever it probes (a peer, a port, a
// DNS name) is decided in-process by the model, through the runtime it gets.
//
// Adding a program is a line in its image's `files` (an absolute path, as in
// the real image) and a function. Executables the real image has that are not
// simulated yet are listed with `notSimulated`, and an image missing from the
// table is not simulated at all: running those fails loudly (a Failure on the
// status stream naming the limit) instead of passing for "not in the image".
import { agnhost } from './agnhost.ts';
import { cat, echo, exit, hostname } from './basic.ts';
import { dig, nslookup } from './bind.ts';
import { birdcl, calicoNode } from './calico-node.ts';
import { curl } from './curl.ts';
import { ip, ipset, iptablesSave, nft } from './host-network.ts';
import { ls } from './ls.ts';
import { DEFAULT_PATH, notSimulated, type ImageContents } from './program.ts';
import { shell } from './sh.ts';

export { NotSimulated, resolveProgram, type ImageContents, type Program, type ProgramContext, type ProgramResult } from './program.ts';

export const IMAGES: ImageContents[] = [
  {
    // registry.k8s.io/e2e-test-images/agnhost:2.52: Alpine 3.16 (busybox: /bin/sh is ash) plus
    // `apk add bind-tools curl netcat-openbsd iproute2 iperf bash` and /agnhost (test/images/agnhost/Dockerfile);
    // bind-tools brings dig, host and nslookup (BIND's, in /usr/bin).
    repository: 'e2e-test-images/agnhost',
    path: DEFAULT_PATH,
    links: {},
    files: {
      '/bin/sh': shell('ash'),
      '/bin/echo': echo,
      '/bin/cat': cat,
      '/bin/true': exit(0),
      '/bin/false': exit(1),
      '/bin/hostname': hostname,
      '/bin/bash': notSimulated('bash'),
      '/sbin/ip': notSimulated('ip'),
      '/agnhost': agnhost,
      '/agnhost-2': agnhost,
      '/usr/bin/curl': curl,
      '/usr/bin/dig': dig,
      '/usr/bin/nslookup': nslookup,
      '/usr/bin/host': notSimulated('host'),
      '/usr/bin/nc': notSimulated('nc'),
      '/usr/bin/iperf': notSimulated('iperf'),
    },
  },
  {
    // calico/node: UBI 8 minimal cut down by node/clean-up-filesystem.sh, which keeps bash (/bin/sh),
    // coreutils-single, iproute(-tc), ipset, iptables (legacy and nft), nftables, conntrack-tools; BIRD, calico-node
    // and bpftool in /bin (node/Dockerfile.amd64).
    repository: 'calico/node',
    path: DEFAULT_PATH,
    links: { '/bin': '/usr/bin', '/sbin': '/usr/sbin' },
    files: {
      '/usr/bin/sh': shell('bash'),
      '/usr/bin/bash': shell('bash'),
      '/usr/bin/echo': echo,
      '/usr/bin/cat': cat,
      '/usr/bin/true': exit(0),
      '/usr/bin/false': exit(1),
      '/usr/bin/ls': ls,
      '/usr/bin/calico-node': calicoNode,
      '/usr/bin/bird': notSimulated('bird'),
      '/usr/bin/bird6': notSimulated('bird6'),
      '/usr/bin/birdcl': birdcl('/var/run/calico/bird.ctl'),
      '/usr/bin/birdcl6': birdcl('/var/run/calico/bird6.ctl'),
      '/usr/bin/bpftool': notSimulated('bpftool'),
      '/usr/sbin/ip': ip,
      '/usr/sbin/tc': notSimulated('tc'),
      '/usr/sbin/ipset': ipset,
      // iptables-save is the nft variant: the iptables-nft package's alternatives outrank the legacy link node/Dockerfile adds.
      '/usr/sbin/iptables-save': iptablesSave('nft'),
      '/usr/sbin/iptables-nft-save': iptablesSave('nft'),
      '/usr/sbin/iptables-legacy-save': iptablesSave('legacy'),
      '/usr/sbin/ip6tables-save': notSimulated('ip6tables-save'),
      '/usr/sbin/ip6tables-nft-save': notSimulated('ip6tables-nft-save'),
      '/usr/sbin/ip6tables-legacy-save': notSimulated('ip6tables-legacy-save'),
      '/usr/sbin/nft': nft,
      '/usr/sbin/conntrack': notSimulated('conntrack'),
    },
  },
];

/** What an image reference holds, whatever its registry and tag; undefined for an image the table does not describe. */
export function imageContents(reference: string): ImageContents | undefined {
  const repository = reference.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
  return IMAGES.find((image) => repository === image.repository || repository.endsWith(`/${image.repository}`));
}
