/** mTLS in the data path: the workload's secure context and SPIFFE peer identities. */
export {
  requestPrincipal,
  socketPrincipal,
  spiffeIds,
  spiffeVerifier,
  TLS_PEER,
} from './spiffe.js';
export {
  type CertificateSource,
  type SecureContextSource,
  type WorkloadCertificate,
  WorkloadTls,
} from './workload-tls.js';
