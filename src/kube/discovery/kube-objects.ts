/**
 * The fields of the Kubernetes objects that discovery reads, and nothing else. Objects from
 * a list (deserialized by @kubernetes/client-node) and from a watch (raw JSON) both fit.
 * https://kubernetes.io/docs/reference/kubernetes-api/
 */

export interface KubeMetadata {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly resourceVersion?: string;
}

/** core/v1 ServicePort. */
export interface KubeServicePort {
  readonly name?: string;
  readonly port: number;
  /** TCP (default), UDP or SCTP. */
  readonly protocol?: string;
  readonly appProtocol?: string;
  readonly targetPort?: number | string;
}

/** core/v1 Service. */
export interface KubeService {
  readonly metadata?: KubeMetadata;
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    /** Dual-stack Services: one per family, the first equal to clusterIP. */
    readonly clusterIPs?: readonly string[];
    readonly ports?: readonly KubeServicePort[];
    readonly selector?: Readonly<Record<string, string>>;
  };
}

/** discovery.k8s.io/v1 EndpointSlice. */
export interface KubeEndpointSlice {
  readonly metadata?: KubeMetadata;
  /** IPv4, IPv6 or FQDN. */
  readonly addressType?: string;
  readonly endpoints?: readonly KubeEndpoint[] | null;
  readonly ports?: readonly KubeEndpointPort[] | null;
}

export interface KubeEndpoint {
  readonly addresses?: readonly string[];
  readonly conditions?: {
    readonly ready?: boolean | null;
    readonly serving?: boolean | null;
    readonly terminating?: boolean | null;
  };
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly deprecatedTopology?: Readonly<Record<string, string>>;
  readonly targetRef?: {
    readonly kind?: string;
    readonly name?: string;
    readonly namespace?: string;
  };
}

export interface KubeEndpointPort {
  readonly name?: string | null;
  readonly port?: number | null;
  readonly protocol?: string | null;
  readonly appProtocol?: string | null;
}

/** core/v1 Pod. */
export interface KubePod {
  readonly metadata?: KubeMetadata;
  readonly spec?: { readonly serviceAccountName?: string; readonly nodeName?: string };
  readonly status?: { readonly podIP?: string; readonly phase?: string };
}

/** core/v1 Namespace: its labels opt its pods in or out of injection. */
export interface KubeNamespace {
  readonly metadata?: KubeMetadata;
}

/** What the cluster holds, as discovery sees it at one moment. */
export interface ClusterState {
  readonly services: readonly KubeService[];
  readonly endpointSlices: readonly KubeEndpointSlice[];
  readonly pods: readonly KubePod[];
}

/** The label an EndpointSlice names its Service with. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
