/**
 * One HTTP/2 request over h2c with prior knowledge (node's http2 client) for the fuzzers:
 * resolves with what came back (the response head as JSON, then the body), whatever
 * happens to the stream or the session. `cancelOnResponse` resets the stream as soon as
 * its head arrives.
 */
import http2 from 'node:http2';

export function h2Get(
  port: number,
  path: string,
  authority: string,
  ms: number,
  cancelOnResponse = false,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    let status = 0;
    let text = '';
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve({ status, text });
    };
    const timer = setTimeout(done, ms);
    session.on('error', done);
    session.on('close', done);
    const req = session.request({ ':path': path, ':authority': authority });
    req.on('response', (headers) => {
      status = Number(headers[':status']);
      text += JSON.stringify(headers);
      if (cancelOnResponse) req.close(http2.constants.NGHTTP2_CANCEL);
    });
    req.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    req.on('end', done);
    req.on('error', done);
    req.on('close', done);
    req.end();
  });
}
