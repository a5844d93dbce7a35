/**
 * The OTLP receiver of bench/peer.ts, in a process of its own so that its work is not counted in
 * the app's CPU: accepts `POST /v1/traces` (protobuf over HTTP, as OTLPTraceExporter sends it),
 * reads the body, answers 200 with an empty ExportTraceServiceResponse, and decodes nothing.
 * Prints the port it listens on; over IPC, answers 'usage' with the requests and bytes received.
 * Run: node --import tsx bench/otlp-sink.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let requests = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end(); // an empty message: full success, nothing rejected
  });
});
process.on('message', (message) => {
  if (message === 'usage') process.send?.({ requests, bytes });
});
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
