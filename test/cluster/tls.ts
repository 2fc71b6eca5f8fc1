// Throwaway certificate authorities and certificates made with the openssl
// CLI (P-256 keys: quick to make, and accepted by kubectl's Go TLS stack).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replaceFile } from '../../src/cli/files.ts';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface CertificateAuthority extends KeyPair {
  /** Signs a certificate for a server (SANs) or a client (CN user, O groups). */
  issue(subject: string, extensions: string): KeyPair;
}

export function createCertificateAuthority(commonName = 'kubernetes'): CertificateAuthority {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-cluster-ca-'));
  try {
    openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
      '-days', '2', '-subj', `/CN=${commonName}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
    const ca = { cert: read(dir, 'ca.crt'), key: read(dir, 'ca.key') };
    return { ...ca, issue: (subject, extensions) => issue(ca, subject, extensions) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What a test cluster serves and trusts, and the certificate of its kubeconfig's cert-admin user. */
export interface ClusterPki {
  ca: CertificateAuthority;
  server: KeyPair;
  admin: KeyPair;
}

/** How long a kept PKI is used: its certificates are valid for two days. */
const PKI_REUSE_MS = 86_400_000;

/**
 * The test clusters' PKI, made by openssl once a day and kept in `file`: five openssl runs (~80 ms of CPU, the
 * event loop of the process whose clusters serve its tests blocked meanwhile) for each of ~140 clusters a suite.
 * Clusters that share it have tokens of their own, but trust each other's cert-admin certificate (as clusters
 * made from one CA do); a test that needs a CA of its own calls createCertificateAuthority.
 */
export function clusterPki(file: string): ClusterPki {
  let kept: (Omit<ClusterPki, 'ca'> & { ca: KeyPair; made: number }) | undefined;
  try {
    kept = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof kept;
  } catch {
    // Absent (or half-written by a process that was killed): made below.
  }
  if (!kept || !(Date.now() - kept.made < PKI_REUSE_MS)) {
    const ca = createCertificateAuthority();
    kept = { ca: { cert: ca.cert, key: ca.key }, server: serverCertificate(ca), admin: clientCertificate(ca, 'kubernetes-admin', ['kubeadm:cluster-admins']), made: Date.now() };
    // Test processes start clusters at once: each writes a whole file of its own and renames it into place.
    replaceFile(file, JSON.stringify(kept), 0o600);
  }
  const ca = kept.ca;
  return { ca: { ...ca, issue: (subject, extensions) => issue(ca, subject, extensions) }, server: kept.server, admin: kept.admin };
}

function serverCertificate(ca: CertificateAuthority): KeyPair {
  return ca.issue('/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment');
}

function clientCertificate(ca: CertificateAuthority, user: string, groups: string[]): KeyPair {
  const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
  return ca.issue(subject, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment');
}

function issue(ca: KeyPair, subject: string, extensions: string): KeyPair {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-cluster-cert-'));
  try {
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
    fs.writeFileSync(path.join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'ext.cnf'), `${extensions}\n`);
    openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', subject]);
    openssl(dir, ['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'tls.crt', '-extfile', 'ext.cnf']);
    return { cert: read(dir, 'tls.crt'), key: read(dir, 'tls.key') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function read(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8');
}
