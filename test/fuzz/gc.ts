/**
 * A full garbage collection for heap figures. Under `npm run fuzz` node runs with --expose-gc; under `npm test`
 * the flag is switched on at run time and `gc` taken from a fresh context (V8 installs it there once set).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn = (globalThis as { gc?: () => void }).gc;
if (!gcFn) {
  v8.setFlagsFromString('--expose-gc');
  gcFn = vm.runInNewContext('gc') as () => void;
}

export function fullGc(): void {
  gcFn?.();
}
