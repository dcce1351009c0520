/**
 * The resource types the client reads, in one registry: how a resource is named, how it
 * is validated, and how it is subscribed. LDS and CDS are wildcard subscriptions; RDS and
 * EDS are asked for by the names listeners and clusters need, and a named resource the
 * server says does not exist stands for an empty one (a route table with no virtual
 * hosts, an assignment with no endpoints), as Envoy treats them.
 */
import { types } from '../xds/index.js';
import {
  type Resource,
  validateCluster,
  validateClusterLoadAssignment,
  validateListener,
  validateRouteConfiguration,
} from './validate.js';
import { validateSecret } from './validate-secret.js';

export interface ResourceType {
  readonly typeUrl: string;
  /** LDS, RDS, CDS or EDS (logs and status). */
  readonly short: string;
  readonly wildcard: boolean;
  /** The name the resource is known by. */
  nameOf(value: Resource): unknown;
  /** Problems found by the built-in validation; empty when the resource is usable. */
  validate(value: Resource): string[];
  /** What a named resource that does not exist stands for. */
  empty(name: string): Resource;
}

/**
 * A type whose resources are known by `name`, and whose missing named resource stands for
 * one with that name and nothing else.
 */
function named(
  typeUrl: string,
  short: string,
  wildcard: boolean,
  validate: (value: Resource) => string[],
): ResourceType {
  return { typeUrl, short, wildcard, validate, nameOf: (v) => v.name, empty: (name) => ({ name }) };
}

const LISTENER = named(types.LISTENER, 'LDS', true, validateListener);

const ROUTE: ResourceType = {
  ...named(types.ROUTE, 'RDS', false, validateRouteConfiguration),
  empty: (name) => ({ name, virtual_hosts: [] }),
};

const CLUSTER = named(types.CLUSTER, 'CDS', true, validateCluster);

const ENDPOINT: ResourceType = {
  typeUrl: types.ENDPOINT,
  short: 'EDS',
  wildcard: false,
  nameOf: (v) => v.cluster_name,
  validate: validateClusterLoadAssignment,
  empty: (name) => ({ cluster_name: name, endpoints: [] }),
};

/**
 * SDS over ADS: the certificates a listener's TLS contexts name (a gateway's). A secret that
 * never comes stands for one without a certificate: its chain refuses handshakes.
 */
const SECRET = named(types.SECRET, 'SDS', false, validateSecret);

/** In the order a client subscribes (clusters before the endpoints and listeners using them). */
export const RESOURCE_TYPES: readonly ResourceType[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET];

/** The types' short names (CDS, EDS, LDS, RDS), e.g. for metrics by type. */
export const XDS_RESOURCE_TYPES: readonly string[] = RESOURCE_TYPES.map((t) => t.short);

const BY_URL = new Map(RESOURCE_TYPES.map((t) => [t.typeUrl, t]));

export function resourceType(typeUrl: string): ResourceType | undefined {
  return BY_URL.get(typeUrl);
}
