/**
 * The transport under every actor link: a MessagePort (worker_threads) fits it, and so does an in-memory port
 * of the deterministic simulator. Actors never see more than this.
 */

export interface PortLike {
  // any: a MessagePort takes Transferable[], a simulator port its own list; both must fit.
  postMessage(message: unknown, transfer?: readonly any[]): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  close(): void;
  start?(): void;
  unref?(): void;
}
