// metav1.Status errors worded as kube-apiserver words them
// (k8s.io/apimachinery/pkg/api/errors), so kubectl prints what it would print.
import type { ResourceType } from './resources.ts';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

export class StatusError extends Error {
  readonly body: StatusBody;
  readonly headers: Record<string, string>;
  constructor(code: number, reason: string, message: string, details?: StatusBody['details'], headers: Record<string, string> = {}) {
    super(message);
    this.body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
    if (!message) delete this.body.message;
    this.headers = headers;
  }
  get code(): number {
    return this.body.code;
  }
}

/** `pods` or `deployments.apps`: how messages name a resource. */
export function qualified(type: Pick<ResourceType, 'resource' | 'group'>): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

function details(type: Pick<ResourceType, 'resource' | 'group'>, name?: string): StatusBody['details'] {
  return { ...(name !== undefined ? { name } : {}), ...(type.group ? { group: type.group } : {}), kind: type.resource };
}

export function notFound(type: Pick<ResourceType, 'resource' | 'group'>, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(type)} "${name}" not found`, details(type, name));
}

export function alreadyExists(type: Pick<ResourceType, 'resource' | 'group'>, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(type)} "${name}" already exists`, details(type, name));
}

export function conflict(type: Pick<ResourceType, 'resource' | 'group'>, name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(type)} "${name}": ${why}`, details(type, name));
}

export const MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

export function invalid(type: Pick<ResourceType, 'group' | 'kind'>, name: string, causes: StatusCause[]): StatusError {
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  const groupKind = type.group ? `${type.kind}.${type.group}` : type.kind;
  return new StatusError(422, 'Invalid', `${groupKind} "${name}" is invalid: ${summary}`, {
    name,
    ...(type.group ? { group: type.group } : {}),
    kind: type.kind,
    causes,
  });
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

export function methodNotAllowed(): StatusError {
  return new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function notFoundPath(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource');
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`);
}

export function tooManyRequests(retryAfterSeconds: number): StatusError {
  return new StatusError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds }, { 'Retry-After': String(retryAfterSeconds) });
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: '', message }] });
}
