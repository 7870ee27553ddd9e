// cli-progress ships no types and @types/cli-progress is not a dependency; the part the CLI uses.
declare module 'cli-progress' {
  export interface BarOptions {
    format?: string;
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    barsize?: number;
  }
  export class SingleBar {
    constructor(opts: BarOptions, preset?: unknown);
    start(total: number, value: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  export const Presets: { shades_classic: unknown; rect: unknown };
  const _default: { SingleBar: typeof SingleBar; Presets: typeof Presets };
  export default _default;
}
