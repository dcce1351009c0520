/**
 * TEMPORARY: the crashes issue 12 lists, being fixed on branch h12-datapath. Until that
 * lands on main, the fuzz loop counts a death with one of these signatures, restarts the
 * sidecar and goes on (see KnownCrash). Remove each entry with its fix: from then on the
 * same input fails the suite.
 */
import type { KnownCrash } from './fuzz-loop.js';

export const ISSUE_12_CRASHES: readonly KnownCrash[] = [
  {
    // A client closing during a request body (aborted upload; 404 NR, early answer, chunked).
    signature: /Error: downstream closed\n\s+at FastConnection\.closed/,
    issue: 'issue 12: unhandled error from FastConnection.closed',
  },
  {
    // A malformed chunk after the response was sent.
    signature: /DownstreamProtocolError[^\n]*\n\s+at FastConnection\.readBody/,
    issue: 'issue 12: DownstreamProtocolError thrown from FastConnection.readBody',
  },
  {
    // An upstream status HTTP/2 cannot carry (600).
    signature: /ERR_HTTP2_STATUS_INVALID/,
    issue: 'issue 12: ERR_HTTP2_STATUS_INVALID from the HTTP/2 response path',
  },
];
