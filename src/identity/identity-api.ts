/**
 * The gRPC definition of ferry.identity.v1.IdentityService, with serializers from
 * proto/ferry/identity/v1/identity.proto, loaded at run time with protobufjs (the package
 * ships proto/). Field names keep the proto's snake_case.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { controlPlaneChannelOptions } from '../xds/index.js';

const SERVICE = 'ferry.identity.v1.IdentityService';
// dist/src/identity/ -> package root -> proto/
const PROTO_FILE = fileURLToPath(
  new URL('../../../proto/ferry/identity/v1/identity.proto', import.meta.url),
);

export interface CreateCertificateRequest {
  readonly csr: string;
  readonly token: string;
  /** 0: the CA's default. */
  readonly validity_seconds?: number;
}

export interface CreateCertificateResponse {
  readonly cert_chain: string[];
  readonly trust_bundle: string[];
}

let root: protobuf.Root | undefined;

function type(name: string): protobuf.Type {
  root ??= new protobuf.Root().loadSync(PROTO_FILE, { keepCase: true });
  return root.lookupType(`ferry.identity.v1.${name}`);
}

function serializer(name: string): (value: object) => Buffer {
  return (value) => {
    const t = type(name);
    return Buffer.from(t.encode(t.fromObject(value as Record<string, unknown>)).finish());
  };
}

function deserializer(name: string): (bytes: Buffer) => object {
  return (bytes) => {
    const t = type(name);
    return t.toObject(t.decode(bytes), { longs: Number, defaults: true, arrays: true });
  };
}

export const identityServiceDefinition: grpc.ServiceDefinition = {
  CreateCertificate: {
    path: `/${SERVICE}/CreateCertificate`,
    requestStream: false,
    responseStream: false,
    requestSerialize: serializer('CreateCertificateRequest'),
    requestDeserialize: deserializer('CreateCertificateRequest'),
    responseSerialize: serializer('CreateCertificateResponse'),
    responseDeserialize: deserializer('CreateCertificateResponse'),
    originalName: 'CreateCertificate',
  },
};

/** What the workload side needs of the identity service (a fake in unit tests). */
export interface IdentityApi {
  createCertificate(request: CreateCertificateRequest): Promise<CreateCertificateResponse>;
  close(): void;
}

const ClientConstructor = grpc.makeGenericClientConstructor(identityServiceDefinition, SERVICE);

interface RawClient extends grpc.Client {
  CreateCertificate(
    request: CreateCertificateRequest,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: CreateCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
}

/** A gRPC client of the identity service at `address` (host:port). */
export function createIdentityClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: { deadlineMs?: number } = {},
): IdentityApi {
  const client = new ClientConstructor(
    address,
    credentials,
    controlPlaneChannelOptions(address, credentials),
  ) as unknown as RawClient;
  const deadlineMs = options.deadlineMs ?? 10_000;
  return {
    createCertificate: (request) =>
      new Promise((resolve, reject) => {
        client.CreateCertificate(request, { deadline: Date.now() + deadlineMs }, (err, response) =>
          err || !response ? reject(err) : resolve(response),
        );
      }),
    close: () => client.close(),
  };
}
