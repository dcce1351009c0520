/** mTLS in the data path: the workload's secure context and SPIFFE peer identities. */
export { peerPrincipal, spiffeIds, spiffeVerifier } from './spiffe.js';
export { type CertificateSource, type WorkloadCertificate, WorkloadTls } from './workload-tls.js';
