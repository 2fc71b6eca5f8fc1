import { CliError } from '../cli/errors.ts';

/** A Kubernetes `Status` returned with a non-2xx answer. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number };
}

/** The API server answered, but not with success. */
export class ApiError extends CliError {
  readonly statusCode: number;
  readonly reason: string;
  readonly status: KubeStatus;
  readonly retryAfterMs: number | undefined;

  constructor(statusCode: number, status: KubeStatus, retryAfterMs?: number) {
    super(describeStatus(statusCode, status));
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.reason = status.reason ?? '';
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** No kubeconfig anywhere, or only ones without contexts (and no --server): no cluster to talk to, which init may go on without. */
export class NoKubeconfigError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'NoKubeconfigError';
  }
}

/** The API server could not be reached or did not answer in time. */
export class ConnectionError extends CliError {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'ConnectionError';
    this.code = code;
  }
}

function describeStatus(statusCode: number, status: KubeStatus): string {
  if (statusCode === 401) return 'You must be logged in to the server (Unauthorized)';
  const reason = status.reason || `HTTP ${statusCode}`;
  return `${status.message || 'the server returned no message'} (${reason})`;
}

/** Maps Node's socket and TLS error codes to what an admin needs to hear. */
export function connectionError(error: NodeJS.ErrnoException, server: string): ConnectionError {
  const code = error.code ?? 'UNKNOWN';
  const host = hostOf(server);
  const unknownAuthority = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT'];
  let message: string;
  if (code === 'ECONNREFUSED') message = `The connection to the server ${host} was refused - did you specify the right host or port?`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') message = `Unable to connect to the server ${server}: no such host "${new URL(server).hostname}"`;
  else if (unknownAuthority.includes(code)) {
    message = `Unable to connect to the server ${server}: certificate signed by unknown authority (the certificate-authority of the kubeconfig's cluster did not sign the server's certificate)`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    message = `Unable to connect to the server ${server}: the server's certificate is not valid for "${new URL(server).hostname}" (see --tls-server-name)`;
  } else if (code === 'CERT_HAS_EXPIRED') message = `Unable to connect to the server ${server}: the server's certificate has expired`;
  else message = `Unable to connect to the server ${server}: ${error.message}`;
  return new ConnectionError(message, code);
}

function hostOf(server: string): string {
  try {
    const url = new URL(server);
    return url.port ? `${url.hostname}:${url.port}` : url.hostname;
  } catch {
    return server;
  }
}
