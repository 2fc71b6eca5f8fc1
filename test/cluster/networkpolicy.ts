// networking.k8s.io/v1 NetworkPolicy at write time, as kube-apiserver v1.31
// defaults and validates it: pkg/apis/networking/v1/defaults.go and
// pkg/apis/networking/validation/validation.go (ValidateNetworkPolicySpec,
// ValidateNetworkPolicyPort, ValidateNetworkPolicyPeer, ValidateIPBlock), with
// apimachinery's ValidateLabelSelector for the selectors.
import { ipNetContainsNet, parseIPNet } from './ipnet.ts';
import { goQuote, isQualifiedName, isValidLabelValue } from './selectors.ts';
import type { StatusCause } from './status.ts';
import type { KubeObject } from './types.ts';

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelectorSpec;
  namespaceSelector?: LabelSelectorSpec;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicySpec {
  podSelector: LabelSelectorSpec;
  policyTypes?: string[];
  ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
}

/** SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort; podSelector is a struct, so it is always there. */
export function defaultNetworkPolicy(object: KubeObject): void {
  const spec = (object.spec ??= {}) as Partial<NetworkPolicySpec>;
  spec.podSelector ??= {};
  if (!spec.policyTypes?.length) spec.policyTypes = spec.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
    for (const port of rule.ports ?? []) port.protocol ??= 'TCP';
  }
}

function shown(value: unknown): string {
  return typeof value === 'string' ? goQuote(value) : JSON.stringify(value);
}

const invalid = (field: string, value: unknown, detail: string): StatusCause => ({ reason: 'FieldValueInvalid', message: `Invalid value: ${shown(value)}: ${detail}`, field });
const required = (field: string, detail: string): StatusCause => ({ reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value', field });
const forbidden = (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });
const notSupported = (field: string, value: string, supported: string[]): StatusCause => ({
  reason: 'FieldValueNotSupported', message: `Unsupported value: ${goQuote(value)}: supported values: ${supported.map((s) => goQuote(s)).join(', ')}`, field,
});

/** validation.IsValidPortNum. */
function portNumErrors(port: number): string[] {
  return port >= 1 && port <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

/** validation.IsValidPortName (IANA_SVC_NAME). */
function portNameErrors(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** unversioned ValidateLabelSelector (label values checked, as for new objects). */
function validateLabelSelector(selector: LabelSelectorSpec, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    for (const msg of isQualifiedName(key)) causes.push(invalid(`${path}.matchLabels`, key, msg));
    for (const msg of isValidLabelValue(value)) causes.push(invalid(`${path}.matchLabels`, value, msg));
  }
  (selector.matchExpressions ?? []).forEach((expression, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    const values = expression.values ?? [];
    if (expression.operator === 'In' || expression.operator === 'NotIn') {
      if (values.length === 0) causes.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (expression.operator === 'Exists' || expression.operator === 'DoesNotExist') {
      if (values.length > 0) causes.push(forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      causes.push(invalid(`${at}.operator`, expression.operator, 'not a valid selector operator'));
    }
    for (const msg of isQualifiedName(expression.key)) causes.push(invalid(`${at}.key`, expression.key, msg));
    values.forEach((value, j) => {
      for (const msg of isValidLabelValue(value)) causes.push(invalid(`${at}.values[${j}]`, value, msg));
    });
  });
  return causes;
}

function validatePort(port: NetworkPolicyPort, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (port.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(port.protocol)) causes.push(notSupported(`${path}.protocol`, port.protocol, ['TCP', 'UDP', 'SCTP']));
  if (typeof port.port === 'number') {
    for (const msg of portNumErrors(port.port)) causes.push(invalid(`${path}.port`, port.port, msg));
    if (port.endPort !== undefined) {
      if (port.endPort < port.port) causes.push(invalid(`${path}.endPort`, port.endPort, 'must be greater than or equal to `port`'));
      for (const msg of portNumErrors(port.endPort)) causes.push(invalid(`${path}.endPort`, port.endPort, msg));
    }
  } else if (typeof port.port === 'string') {
    if (port.endPort !== undefined) causes.push(invalid(`${path}.endPort`, port.endPort, 'may not be specified when `port` is non-numeric'));
    for (const msg of portNameErrors(port.port)) causes.push(invalid(`${path}.port`, port.port, msg));
  } else if (port.endPort !== undefined) {
    causes.push(invalid(`${path}.endPort`, port.endPort, 'may not be specified when `port` is not specified'));
  }
  return causes;
}

function validateIPBlock(block: { cidr?: string; except?: string[] }, path: string): StatusCause[] {
  if (!block.cidr) return [required(`${path}.cidr`, '')];
  const cidr = parseIPNet(block.cidr);
  if (!cidr) return [invalid(`${path}.cidr`, block.cidr, 'not a valid CIDR')];
  const causes: StatusCause[] = [];
  for (const [i, text] of (block.except ?? []).entries()) {
    const except = parseIPNet(text);
    if (!except) return [...causes, invalid(`${path}.except[${i}]`, text, 'not a valid CIDR')];
    if (!ipNetContainsNet(cidr, except) || cidr.prefix >= except.prefix) causes.push(invalid(`${path}.except[${i}]`, text, 'must be a strict subset of `cidr`'));
  }
  return causes;
}

function validatePeer(peer: NetworkPolicyPeer, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  let peers = 0;
  if (peer.podSelector) {
    peers++;
    causes.push(...validateLabelSelector(peer.podSelector, `${path}.podSelector`));
  }
  if (peer.namespaceSelector) {
    peers++;
    causes.push(...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`));
  }
  if (peer.ipBlock) {
    peers++;
    causes.push(...validateIPBlock(peer.ipBlock, `${path}.ipBlock`));
  }
  if (peers === 0) causes.push(required(path, 'must specify a peer'));
  else if (peers > 1 && peer.ipBlock) causes.push(forbidden(path, 'may not specify both ipBlock and another peer'));
  return causes;
}

/** ValidateNetworkPolicySpec. */
export function validateNetworkPolicy(object: KubeObject): StatusCause[] {
  const spec = (object.spec ?? {}) as Partial<NetworkPolicySpec>;
  const causes = validateLabelSelector(spec.podSelector ?? {}, 'spec.podSelector');
  const rule = (at: string, ports: NetworkPolicyPort[] | undefined, peersField: string, peers: NetworkPolicyPeer[] | undefined) => {
    (ports ?? []).forEach((port, j) => causes.push(...validatePort(port, `${at}.ports[${j}]`)));
    (peers ?? []).forEach((peer, j) => causes.push(...validatePeer(peer, `${at}.${peersField}[${j}]`)));
  };
  (spec.ingress ?? []).forEach((r, i) => rule(`spec.ingress[${i}]`, r.ports, 'from', r.from));
  (spec.egress ?? []).forEach((r, i) => rule(`spec.egress[${i}]`, r.ports, 'to', r.to));
  const types = spec.policyTypes ?? [];
  if (types.length > 2) return [...causes, invalid('spec.policyTypes', types, 'may not specify more than two policyTypes')];
  types.forEach((type, i) => {
    if (type !== 'Ingress' && type !== 'Egress') causes.push(notSupported(`spec.policyTypes[${i}]`, type, ['Ingress', 'Egress']));
  });
  return causes;
}
