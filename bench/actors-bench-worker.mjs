// A bench "actor" thread for bench/actors.bench.mjs: either serves requests on a port handed to it, or
// drives a load against such a port and reports. Uses the runtime's RpcEndpoint (dist/), or comlink.
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

const { RpcEndpoint } = await import(workerData.rpcUrl);
const { systemClock } = await import(workerData.clockUrl);
const { withTransfer } = await import(workerData.transferUrl);

const port = workerData.port;

if (workerData.role === 'server') {
  if (workerData.kind === 'comlink') {
    Comlink.expose({ ping: (n) => n + 1, bounce: (b) => Comlink.transfer(b, [b]) }, nodeEndpoint(port));
  } else if (workerData.kind === 'rpc') {
    new RpcEndpoint(port, {
      clock: systemClock,
      label: 'server',
      serve: (body) => (body.type === 'bounce' ? withTransfer(body.buffer, [body.buffer]) : body.n + 1),
    });
  } else {
    // raw bulk sink: ack each chunk, returning the buffer when asked (pooled mode)
    port.on('message', (m) => {
      if (m.back) port.postMessage({ ack: m.i, buffer: m.buffer }, [m.buffer]);
      else port.postMessage({ ack: m.i });
    });
  }
  parentPort.postMessage('ready');
} else {
  parentPort.postMessage(await drive(workerData));
  process.exit(0);
}

async function drive(cfg) {
  if (cfg.kind === 'rpc' || cfg.kind === 'comlink') return latency(cfg);
  return bulk(cfg);
}

async function latency(cfg) {
  let call;
  if (cfg.kind === 'comlink') {
    const remote = Comlink.wrap(nodeEndpoint(port));
    call = (n) => remote.ping(n);
  } else {
    const ep = new RpcEndpoint(port, { clock: systemClock, label: 'client' });
    call = (n) => ep.request({ type: 'ping', n });
  }
  for (let i = 0; i < 2000; i++) await call(i); // warm-up
  const lat = new Float64Array(cfg.n);
  for (let i = 0; i < cfg.n; i++) {
    const t = performance.now();
    await call(i);
    lat[i] = performance.now() - t;
  }
  lat.sort();
  // throughput with a window of requests in flight
  const t0 = performance.now();
  let next = 0;
  const total = cfg.n * 4;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < total) await call(next++);
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { p50us: lat[Math.floor(cfg.n * 0.5)] * 1000, p99us: lat[Math.floor(cfg.n * 0.99)] * 1000, seqPerSec: cfg.n / (lat.reduce((a, b) => a + b, 0) / 1000), pipelinedPerSec: total / secs };
}

async function bulk(cfg) {
  const CHUNK = 256 * 1024;
  const total = cfg.totalBytes / CHUNK;
  const windowSize = 16;
  const pool = Array.from({ length: windowSize }, () => new ArrayBuffer(CHUNK));
  const copySrc = new ArrayBuffer(CHUNK);
  let sent = 0;
  let acked = 0;
  let inFlight = 0;
  const t0 = performance.now();
  await new Promise((resolve) => {
    const pump = () => {
      while (inFlight < windowSize && sent < total) {
        const i = sent++;
        inFlight++;
        if (cfg.kind === 'copied') port.postMessage({ i, buffer: copySrc });
        else if (cfg.kind === 'fresh') {
          const b = new ArrayBuffer(CHUNK);
          port.postMessage({ i, buffer: b }, [b]);
        } else {
          const b = pool.pop();
          port.postMessage({ i, buffer: b, back: true }, [b]);
        }
      }
    };
    port.on('message', (m) => {
      acked++;
      inFlight--;
      if (m.buffer) pool.push(m.buffer);
      if (acked === total) resolve();
      else pump();
    });
    pump();
  });
  const secs = (performance.now() - t0) / 1000;
  return { gibPerSec: cfg.totalBytes / 2 ** 30 / secs, secs };
}
