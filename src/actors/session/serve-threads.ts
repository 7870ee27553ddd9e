/**
 * The session's side of serve threads (serve-worker.ts): starts them on the TCP listener's host and port (each
 * binds a socket of its own there with SO_REUSEPORT, see transport/reuse-port.ts), answers the requests they pass
 * on through `route` (the session's own dispatch to the owning actor), and stops them. A thread that dies is not
 * restarted: the session's own loop and the other threads keep accepting on the port.
 */
import { Worker } from 'node:worker_threads';
import type { PeerRef, WireReply } from '../../messages/wire.js';
import { compiledUrl } from '../runtime/compiled-url.js';
import { workerExecArgv } from '../runtime/worker-exec-argv.js';
import type { InboundRequest } from './peer-connection.js';
import type { ServeThreadMessage, ServeWorkerData, SessionToServeMessage } from './serve-worker.js';

export interface ServeRequest {
  owner: InboundRequest['owner'];
  messageType: number;
  reqId: number;
  payload: Uint8Array;
  from: PeerRef;
}

export interface ServeThreadsInit extends Omit<ServeWorkerData, 'index'> {
  /** Extra threads accepting connections besides the session's own loop. */
  threads: number;
  /** Answers one request the way the session answers requests on its own connections. */
  route(req: ServeRequest): Promise<WireReply>;
  /**
   * Whether the buffer of a reply's payload (at offset 0) may move to the thread, which hands it back through
   * `recycled` once written; otherwise the payload is copied unless it fills its buffer exactly.
   */
  lend?(payload: Uint8Array): boolean;
  /** Buffers a thread handed back (see `lend`). */
  recycled?(buffers: ArrayBuffer[]): void;
  /** A thread failed (it is not restarted). */
  onError?(err: Error): void;
}

const STOP_GRACE_MS = 2_000;

export class ServeThreads {
  readonly #workers: Worker[] = [];
  readonly #open: number[] = [];
  readonly #init: ServeThreadsInit;

  private constructor(init: ServeThreadsInit) {
    this.#init = init;
  }

  static async start(init: ServeThreadsInit): Promise<ServeThreads> {
    const s = new ServeThreads(init);
    try {
      await Promise.all(Array.from({ length: init.threads }, (_, i) => s.#spawn(i)));
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  /** Connections open on the serve threads. */
  get connections(): number {
    return this.#open.reduce((a, b) => a + b, 0);
  }

  get threads(): number {
    return this.#workers.length;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#workers.map(async (w) => {
        const exited = new Promise<void>((r) => {
          w.once('exit', () => r());
          w.on('message', (m: ServeThreadMessage) => m.kind === 'closed' && r());
        });
        try {
          w.postMessage({ kind: 'stop' } satisfies SessionToServeMessage);
        } catch {
          /* already gone */
        }
        const t = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
        await exited;
        clearTimeout(t);
        // The thread finishes on its own (its connections are closed); it holds no descriptor of ours any more.
        void w.terminate();
      }),
    );
    this.#workers.length = 0;
  }

  #spawn(index: number): Promise<void> {
    const { threads: _t, route: _r, lend: _l, recycled: _y, onError: _e, ...rest } = this.#init;
    const data: ServeWorkerData = { ...rest, index };
    const w = new Worker(compiledUrl('./serve-worker.js', import.meta.url), { workerData: data, execArgv: workerExecArgv() });
    this.#workers.push(w);
    this.#open[index] = 0;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: ServeThreadMessage) => {
        if (m.kind === 'ready') {
          ready = true;
          resolve();
        } else if (m.kind === 'connections') this.#open[index] = m.open;
        else if (m.kind === 'request') this.#answer(w, m);
        else if (m.kind === 'recycle') this.#init.recycled?.(m.buffers);
      });
      w.on('error', (err) => {
        if (!ready) reject(err);
        else this.#init.onError?.(err);
      });
      w.on('exit', (code) => {
        this.#open[index] = 0;
        if (!ready) reject(new Error(`serve thread ${index} exited (${code}) before it was ready`));
      });
    });
  }

  #answer(w: Worker, m: Extract<ServeThreadMessage, { kind: 'request' }>): void {
    this.#init.route({ owner: m.owner, messageType: m.messageType, reqId: m.reqId, payload: m.payload, from: m.from }).then(
      (reply) => {
        const p = 'payload' in reply && reply.payload.byteOffset === 0 && reply.payload.buffer instanceof ArrayBuffer ? reply.payload : undefined;
        const recycle = p !== undefined && this.#init.lend?.(p) === true;
        const transfer = p !== undefined && (recycle || p.byteLength === p.buffer.byteLength) ? [p.buffer as ArrayBuffer] : [];
        try {
          w.postMessage({ kind: 'reply', id: m.id, reply, ...(recycle ? { recycle } : {}) } satisfies SessionToServeMessage, transfer);
        } catch {
          /* the thread is gone; its connection with it */
        }
      },
      () => {
        try {
          w.postMessage({ kind: 'reply', id: m.id, reply: { error: 'internal error' } } satisfies SessionToServeMessage);
        } catch {
          /* gone */
        }
      },
    );
  }
}
