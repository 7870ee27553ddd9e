/** The simulator lives in src/sim/ so the bench can import it from dist/; tests import it from here. */
export * from '../../src/sim/sim-network.js';
export { EventQueue } from '../../src/sim/event-queue.js';
