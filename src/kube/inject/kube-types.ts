/**
 * The few parts of Kubernetes objects that injection reads or writes
 * (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/).
 * Everything else in an object is carried through untouched.
 */

export type StringMap = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
}

export interface ContainerPort {
  readonly containerPort: number;
  readonly name?: string;
  readonly protocol?: string;
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly ports?: readonly ContainerPort[];
  readonly [field: string]: unknown;
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly hostNetwork?: boolean;
  readonly serviceAccountName?: string;
  readonly [field: string]: unknown;
}

/** A Pod, or the pod template of a workload: metadata and spec are what matter. */
export interface PodTemplate {
  readonly metadata?: ObjectMeta;
  readonly spec: PodSpec;
}
