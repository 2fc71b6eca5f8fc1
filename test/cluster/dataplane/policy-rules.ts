// Policies as Felix receives them: Kubernetes NetworkPolicies converted to
// Calico policies, Calico (Global)NetworkPolicies turned into Felix's model
// (selectors composed with namespace and service account labels), checked as
// Felix's validation filter checks them, then compiled for evaluation.
//
// Ported from projectcalico/calico v3.29.0:
// - libcalico-go/lib/backend/k8s/conversion/conversion.go (K8sNetworkPolicyToCalico,
//   k8sSelectorToCalico, k8sRuleToCalico, k8sPeerToCalicoFields, k8sPortToCalico);
// - libcalico-go/lib/backend/syncersv1/updateprocessors (networkpolicyprocessor.go,
//   globalnetworkpolicyprocessor.go, rules.go, selectors.go);
// - felix/calc/validation_filter.go with libcalico-go/lib/validator/v1 (a policy
//   that fails validation is "treated as missing": Felix enforces nothing of it);
// - api/pkg/lib/numorstring (ports and protocols).
// The selector strings are composed exactly as Calico composes them and then
// parsed, so Calico's quirks come along (a policy-level namespaceSelector that
// does not parse is dropped from the selector, not the policy).
import { ipNetContains, parseIPNetOrIP, type IPNet } from '../ipnet.ts';
import type { LabelSelectorSpec, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec } from '../networkpolicy.ts';
import type { KubeObject } from '../types.ts';
import { parseSelector, SelectorParseError, withLabelPrefix, type Selector } from './calico-selector.ts';

// ---------------------------------------------------------------------------
// Calico's v3 policy resource (crd.projectcalico.org/v1 objects carry v3 specs)

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: (number | string)[];
  notPorts?: (number | string)[];
  serviceAccounts?: ServiceAccountMatch;
  services?: { name?: string; namespace?: string };
}

export interface Rule {
  action?: string;
  protocol?: number | string;
  notProtocol?: number | string;
  ipVersion?: number;
  icmp?: { type?: number; code?: number };
  notICMP?: { type?: number; code?: number };
  source?: EntityRule;
  destination?: EntityRule;
  http?: unknown;
}

export interface PolicySpec {
  order?: number;
  tier?: string;
  selector?: string;
  namespaceSelector?: string;
  serviceAccountSelector?: string;
  types?: string[];
  ingress?: Rule[];
  egress?: Rule[];
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

// Labels Calico puts on endpoints (apiv3 LabelNamespace…) and the prefixes of the labels profiles pass down.
export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
export const LABEL_NAME = 'projectcalico.org/name';
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';

// ---------------------------------------------------------------------------
// Kubernetes NetworkPolicy → Calico NetworkPolicy (conversion.go)

/** k8sSelectorToCalico: a pod selector also requires the orchestrator label; an empty namespace selector is all(). */
function k8sSelectorToCalico(selector: LabelSelectorSpec | undefined, type: 'pod' | 'namespace'): string {
  const parts = type === 'pod' ? [`${LABEL_ORCHESTRATOR} == 'k8s'`] : [];
  if (!selector) return parts.join(' && ');
  const matchLabels = selector.matchLabels ?? {};
  const expressions = selector.matchExpressions ?? [];
  if (type === 'namespace' && Object.keys(matchLabels).length === 0 && expressions.length === 0) return 'all()';
  for (const key of Object.keys(matchLabels).sort()) parts.push(`${key} == '${matchLabels[key]}'`);
  for (const e of expressions) {
    const values = (e.values ?? []).join("', '");
    if (e.operator === 'In') parts.push(`${e.key} in { '${values}' }`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} not in { '${values}' }`);
    else if (e.operator === 'Exists') parts.push(`has(${e.key})`);
    else if (e.operator === 'DoesNotExist') parts.push(`! has(${e.key})`);
  }
  return parts.join(' && ');
}

function k8sPeerToEntity(peer: NetworkPolicyPeer | undefined): EntityRule {
  if (!peer) return {};
  if (peer.ipBlock) return { nets: [peer.ipBlock.cidr], ...(peer.ipBlock.except?.length ? { notNets: peer.ipBlock.except } : {}) };
  return { selector: k8sSelectorToCalico(peer.podSelector, 'pod'), namespaceSelector: k8sSelectorToCalico(peer.namespaceSelector, 'namespace') };
}

/**
 * k8sRuleToCalico: one Allow rule per protocol and peer; a protocol's ports
 * are merged (a port entry without a port number opens the whole protocol),
 * and a port list with no protocol at all opens everything.
 */
function k8sRuleToCalico(peers: NetworkPolicyPeer[] | undefined, ports: NetworkPolicyPort[] | undefined, ingress: boolean): Rule[] {
  let byProtocol = new Map<string, (number | string)[] | undefined>();
  for (const port of ports?.length ? ports : [undefined]) {
    if (!port) {
      byProtocol = new Map([['', undefined]]);
      break;
    }
    const protocol = port.protocol ?? 'TCP';
    const calicoPort = port.port === undefined ? undefined : port.endPort !== undefined ? `${port.port}:${port.endPort}` : port.port;
    if (calicoPort === undefined) byProtocol.set(protocol, undefined);
    else if (!byProtocol.has(protocol) || byProtocol.get(protocol) !== undefined) byProtocol.set(protocol, [...(byProtocol.get(protocol) ?? []), calicoPort]);
  }
  const rules: Rule[] = [];
  for (const protocol of [...byProtocol.keys()].sort()) {
    const dstPorts = byProtocol.get(protocol);
    for (const peer of peers?.length ? peers : [undefined]) {
      const entity = k8sPeerToEntity(peer);
      rules.push({
        action: 'Allow',
        ...(protocol ? { protocol } : {}),
        source: ingress ? entity : {},
        destination: ingress ? (dstPorts ? { ports: dstPorts } : {}) : { ...entity, ...(dstPorts ? { ports: dstPorts } : {}) },
      });
    }
  }
  return rules;
}

/** Which rule of the Kubernetes policy each Calico rule comes from (1-based), per direction. */
export interface RuleNumbers {
  ingress: number[];
  egress: number[];
}

/** K8sNetworkPolicyToCalico: `knp.default.<name>` in the default tier at order 1000. */
export function k8sNetworkPolicyToCalico(np: KubeObject): { spec: PolicySpec; numbers: RuleNumbers } {
  const spec = np.spec as NetworkPolicySpec;
  const types = ['Ingress', 'Egress'].filter((t) => spec.policyTypes?.includes(t));
  const ingress = (spec.ingress ?? []).map((r) => k8sRuleToCalico(r.from, r.ports, true));
  const egress = (spec.egress ?? []).map((r) => k8sRuleToCalico(r.to, r.ports, false));
  const numbers = (rules: Rule[][]) => rules.flatMap((converted, i) => converted.map(() => i + 1));
  return {
    spec: {
      order: 1000,
      selector: k8sSelectorToCalico(spec.podSelector, 'pod'),
      ingress: ingress.flat(),
      egress: egress.flat(),
      // No types at all only comes from an API without the field: ingress alone, as then.
      types: types.length ? types : ['Ingress'],
    },
    numbers: { ingress: numbers(ingress), egress: numbers(egress) },
  };
}

// ---------------------------------------------------------------------------
// Felix's model of a policy (the update processors)

/** parseSelectorAttachPrefix: "" when the selector does not parse (the processor logs and carries on). */
function prefixed(selector: string, prefix: string): string {
  try {
    return withLabelPrefix(parseSelector(selector), prefix).text;
  } catch (error) {
    if (error instanceof SelectorParseError) return '';
    throw error;
  }
}

function prefixAndAppend(current: string, added: string | undefined, prefix: string): string {
  if (!added) return current;
  const selector = prefixed(added, prefix);
  if (!selector) return current;
  return current ? `(${current}) && ${selector}` : selector;
}

/** parseServiceAccounts: `pcsa.`-prefixed selector AND the names as a set. */
function serviceAccountSelector(match: ServiceAccountMatch): string {
  const bySelector = match.selector ? prefixed(match.selector, SERVICE_ACCOUNT_LABEL_PREFIX) : '';
  if (!match.names?.length) return bySelector;
  let byNames: string;
  try {
    byNames = parseSelector(`${LABEL_SERVICE_ACCOUNT} in { '${match.names.join("', '")}' }`).text;
  } catch (error) {
    if (error instanceof SelectorParseError) return '';
    throw error;
  }
  return bySelector ? `(${bySelector}) && (${byNames})` : byNames;
}

/** getEndpointSelector: the endpoints an entity rule matches, limited to the policy's namespace once any selector is used. */
function entitySelector(entity: EntityRule, namespace: string): string {
  let nsSelector = '';
  if (entity.namespaceSelector) {
    nsSelector = prefixed(entity.namespaceSelector, NAMESPACE_LABEL_PREFIX)
      .replaceAll('all()', `has(${LABEL_NAMESPACE})`)
      .replaceAll('global()', `!has(${LABEL_NAMESPACE})`);
  } else if (namespace) {
    nsSelector = `${LABEL_NAMESPACE} == '${namespace}'`;
  }
  const selectors = [entity.serviceAccounts ? serviceAccountSelector(entity.serviceAccounts) : '', entity.selector ?? ''].filter(Boolean);
  let selector = selectors.length === 1 ? selectors[0]! : selectors.length > 1 ? `(${selectors.join(') && (')})` : '';
  if (nsSelector && (selector || entity.notSelector || entity.namespaceSelector)) selector = selector ? `(${nsSelector}) && (${selector})` : nsSelector;
  return selector;
}

/** The policy's own selector as the processors compose it. */
function policySelector(spec: PolicySpec, namespace: string | undefined): string {
  if (namespace !== undefined) {
    const own = `${LABEL_NAMESPACE} == '${namespace}'`;
    const selector = spec.selector ? `(${spec.selector}) && ${own}` : own;
    return prefixAndAppend(selector, spec.serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX);
  }
  let selector = spec.selector ?? '';
  if (spec.namespaceSelector) selector = prefixAndAppend(selector, spec.namespaceSelector, NAMESPACE_LABEL_PREFIX).replaceAll('all()', `has(${LABEL_NAMESPACE})`);
  if (spec.serviceAccountSelector) selector = prefixAndAppend(selector, spec.serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX).replaceAll('all()', `has(${LABEL_SERVICE_ACCOUNT})`);
  return selector;
}

// ---------------------------------------------------------------------------
// Compiled policies

/** A destination or source port: a range, or a name resolved against the destination's container ports. */
export type PortMatch = { min: number; max: number } | { name: string };

export interface EntityMatch {
  nets?: IPNet[];
  notNets?: IPNet[];
  selector?: Selector;
  notSelector?: Selector;
  ports?: PortMatch[];
  notPorts?: PortMatch[];
}

export type Action = 'allow' | 'deny' | 'log' | 'pass';

export interface CompiledRule {
  /** 1-based, as a person counts the rules of the policy's list (a Kubernetes policy's own list, not Calico's conversion of it). */
  number: number;
  action: Action;
  /** Protocol numbers (TCP 6, UDP 17, SCTP 132…). */
  protocol?: number;
  notProtocol?: number;
  ipVersion?: number;
  /** ICMP type/code matches: such a rule matches ICMP packets only. */
  icmpOnly: boolean;
  source: EntityMatch;
  destination: EntityMatch;
  /** Why the model cannot tell whether this rule matches a flow that meets its other criteria. */
  unmodelled?: string;
}

export interface CompiledPolicy extends Tier {
  /** `NetworkPolicy default/deny-all`, `GlobalNetworkPolicy allow-dns`, `Calico NetworkPolicy default/x`. */
  display: string;
  /** Infinity when unset ("applied last"). */
  order: number;
  selector: Selector;
  ingress: boolean;
  egress: boolean;
  inbound: CompiledRule[];
  outbound: CompiledRule[];
  /** doNotTrack and preDNAT policies are rendered for host endpoints only. */
  hostOnly: boolean;
}

/** What Felix does not enforce: the policy fails its validation filter ("treating as missing"). */
export class DroppedPolicy extends Error {
  override name = 'DroppedPolicy';
}

/** IP protocol numbers by Calico's (v1, lower-case) protocol names. */
export const PROTOCOL_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132, udplite: 136 };
const PORT_PROTOCOLS = new Set([6, 17, 132, 136]);

/** numorstring.Protocol as the v1 validator accepts it: a name (any case) or 1–255. */
function protocolNumber(value: number | string, field: string): number {
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 255) return n;
    throw new DroppedPolicy(`${field}: protocol number invalid`);
  }
  const n = PROTOCOL_NUMBERS[value.toLowerCase()];
  if (n === undefined) throw new DroppedPolicy(`${field}: protocol name invalid`);
  return n;
}

/** numorstring.PortFromString (and the uint16 JSON form), then the validator's port checks. */
function portMatch(value: number | string, field: string): PortMatch {
  const text = String(value);
  const range = /^(\d+):(\d+)$/.exec(text);
  const [min, max] = /^\d+$/.test(text) ? [Number(text), Number(text)] : range ? [Number(range[1]), Number(range[2])] : [NaN, NaN];
  if (Number.isNaN(min)) {
    if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(text)) throw new DroppedPolicy(`${field}: invalid name for named port (${text})`);
    return { name: text };
  }
  if (min > 65535 || max > 65535) throw new DroppedPolicy(`${field}: invalid port format (${text})`);
  if (min > max) throw new DroppedPolicy(`${field}: minimum port number (${min}) is greater than maximum port number (${max}) in port range`);
  if (min < 1) throw new DroppedPolicy(`${field}: port range invalid, port number must be between 0 and 65536`);
  return { min, max };
}

function parseNets(nets: string[] | undefined, field: string): IPNet[] | undefined {
  if (!nets?.length) return undefined;
  return nets.map((text) => {
    const net = parseIPNetOrIP(text);
    if (!net) throw new DroppedPolicy(`${field}: ${JSON.stringify(text)} is not a CIDR`);
    return net;
  });
}

/** selector.Parse as the v1 validator's `selector` tag runs it. */
function validSelector(text: string, field: string): Selector {
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorParseError) throw new DroppedPolicy(`${field} ${JSON.stringify(text)}: ${error.message}`);
    throw error;
  }
}

function compileEntity(entity: EntityRule, namespace: string, field: string): EntityMatch {
  // The originals are validated too (model.Rule's Original* fields), so a bad namespaceSelector drops the policy.
  for (const [name, text] of [['selector', entity.selector], ['namespaceSelector', entity.namespaceSelector], ['notSelector', entity.notSelector], ['serviceAccounts.selector', entity.serviceAccounts?.selector]] as const) {
    if (text) validSelector(text, `${field}.${name}`);
  }
  const selector = entitySelector(entity, namespace);
  return {
    nets: parseNets(entity.nets, `${field}.nets`),
    notNets: parseNets(entity.notNets, `${field}.notNets`),
    selector: selector ? validSelector(selector, `${field} selector`) : undefined,
    notSelector: entity.notSelector ? validSelector(entity.notSelector, `${field}.notSelector`) : undefined,
    ports: entity.ports?.length ? entity.ports.map((p, i) => portMatch(p, `${field}.ports[${i}]`)) : undefined,
    notPorts: entity.notPorts?.length ? entity.notPorts.map((p, i) => portMatch(p, `${field}.notPorts[${i}]`)) : undefined,
  };
}

function compileRule(rule: Rule, number: number, namespace: string, field: string): CompiledRule {
  const action = (rule.action ?? '').toLowerCase();
  const protocol = rule.protocol === undefined ? undefined : protocolNumber(rule.protocol, `${field}.protocol`);
  const source = compileEntity(rule.source ?? {}, namespace, `${field}.source`);
  const destination = compileEntity(rule.destination ?? {}, namespace, `${field}.destination`);
  if ((source.ports || source.notPorts || destination.ports || destination.notPorts) && (protocol === undefined || !PORT_PROTOCOLS.has(protocol))) {
    throw new DroppedPolicy(`${field}: rules that specify ports must set protocol to TCP or UDP or SCTP`);
  }
  if (rule.ipVersion !== undefined && rule.ipVersion !== 4 && rule.ipVersion !== 6) throw new DroppedPolicy(`${field}.ipVersion: must be 4 or 6`);
  for (const icmp of [rule.icmp, rule.notICMP]) {
    if (icmp?.code !== undefined && icmp.type === undefined) throw new DroppedPolicy(`${field}: ICMP code specified without an ICMP type`);
  }
  const unmodelled = rule.http ? 'its HTTP match needs the application layer policy (Envoy), which is not modelled'
    : rule.source?.services || rule.destination?.services ? 'its service match is not modelled'
    : source.ports || source.notPorts ? "a flow's source port is ephemeral, so its source ports cannot be judged"
    : ['', 'allow', 'deny', 'log', 'pass'].includes(action) ? undefined : `its action ${JSON.stringify(rule.action)} is unknown (Felix stops on it)`;
  return {
    number,
    action: action === '' ? 'allow' : action as Action,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(rule.notProtocol !== undefined ? { notProtocol: protocolNumber(rule.notProtocol, `${field}.notProtocol`) } : {}),
    ...(rule.ipVersion !== undefined ? { ipVersion: rule.ipVersion } : {}),
    icmpOnly: rule.icmp !== undefined || rule.notICMP !== undefined,
    source,
    destination,
    ...(unmodelled ? { unmodelled } : {}),
  };
}

export interface Tier {
  tier: string;
  /** Why the policy is in that tier, when it is not the default one. */
  tierReason?: string;
}

/** Where a Calico policy sits: `spec.tier` (v3.32), or before v3.32 the prefix of a dotted name (names.TierFromPolicyName). */
export function tierOf(spec: PolicySpec, name: string): Tier {
  if (spec.tier && spec.tier !== 'default') return { tier: spec.tier, tierReason: `its spec.tier is ${JSON.stringify(spec.tier)}` };
  const dot = name.indexOf('.');
  if (dot > 0 && name.slice(0, dot) !== 'default') {
    const tier = name.slice(0, dot);
    return { tier, tierReason: `Calico v3.29–v3.31 take the tier from the name's prefix ("${tier}.")` };
  }
  return { tier: 'default' };
}

/**
 * A policy as Felix enforces it, from its v3 spec. `namespace` is undefined
 * for a GlobalNetworkPolicy. Throws DroppedPolicy where Felix's validation
 * filter would treat the policy as missing.
 */
export function compilePolicy(display: string, tier: Tier, namespace: string | undefined, spec: PolicySpec, numbers?: RuleNumbers): CompiledPolicy {
  const selector = validSelector(policySelector(spec, namespace), 'selector');
  // model.Policy Types: none means both directions (felix/calc/policy_sorter.go governsType).
  const types = (spec.types ?? []).map((t) => t.toLowerCase());
  const compileRules = (rules: Rule[] | undefined, direction: 'ingress' | 'egress') => (rules ?? []).map((rule, i) => compileRule(rule, numbers?.[direction][i] ?? i + 1, namespace ?? '', `${direction}[${i}]`));
  return {
    display,
    ...tier,
    order: spec.order ?? Infinity,
    selector,
    ingress: types.length === 0 || types.includes('ingress'),
    egress: types.length === 0 || types.includes('egress'),
    inbound: compileRules(spec.ingress, 'ingress'),
    outbound: compileRules(spec.egress, 'egress'),
    hostOnly: Boolean(spec.doNotTrack || spec.preDNAT),
  };
}

// ---------------------------------------------------------------------------
// Matching what does not depend on endpoints' labels

export function netsMatch(match: EntityMatch, ip: string): boolean {
  if (match.nets && !match.nets.some((net) => ipNetContains(net, ip))) return false;
  return !match.notNets?.some((net) => ipNetContains(net, ip));
}
