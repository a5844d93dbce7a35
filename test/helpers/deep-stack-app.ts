/**
 * A child process for test/hardening-input.test.ts: an instrumented HTTP app whose handler recurses
 * `depth` frames deep and makes an outgoing HTTP call (a CLIENT span) from the bottom, recorded by the
 * real pipeline into the memcached given. Run with a larger `--stack-size`: the test runner's own
 * process has too little stack for 10,000 frames below an HTTP handler.
 *
 *   node --stack-size=3900 --import tsx test/helpers/deep-stack-app.ts <memcached host:port> <keyPrefix> <depth>
 *
 * Prints one JSON line: the record's start time and the number of frames on the stack at the call.
 */
import { AppstatsExporter } from '../../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../../exporter/span-processor.js';
import { eventually, listen, newRegisteredProvider, patchedHttp, TeeExporter } from './pipeline.js';

const [memcache, keyPrefix, depthArg] = process.argv.slice(2);
const depth = Number(depthArg);
const tee = new TeeExporter(new AppstatsExporter({ memcache, keyPrefix }));
const processor = new AppstatsSpanProcessor({ exporter: tee });
const provider = newRegisteredProvider([processor]);
const http = patchedHttp();
const backend = await listen((_req, res) => res.end('leaf'));
let framesAtCall = 0;

function countFrames(): number {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = Number.POSITIVE_INFINITY;
  const frames = (new Error().stack ?? '').split('\n').length - 2; // the message line and this function
  Error.stackTraceLimit = saved;
  return frames;
}

/** Returns the depth it went down (a value, so each frame stays on the stack until the call is made). */
function deep(n: number, done: () => void): number {
  if (n > 0) return deep(n - 1, done) + 1;
  framesAtCall = countFrames();
  http.get(`${backend.url}/leaf`, (inner) => {
    inner.resume();
    inner.on('end', done);
  });
  return 0;
}

const app = await listen((_req, res) => deep(depth, () => res.end('deep')));
const body = await (await fetch(`${app.url}/deep`)).text();
await eventually(() => tee.records.length === 2, 'the app and backend records');
await processor.forceFlush();
const record = tee.records.find((r) => r.http_path === '/deep');
process.stdout.write(
  `${JSON.stringify({ body, start: record?.start_timestamp_milliseconds, framesAtCall })}\n`,
);
await app.close();
await backend.close();
await provider.shutdown();
