// mime-types ships no types and @types/mime-types is not a dependency; the one function used here.
declare module 'mime-types' {
  export function lookup(filenameOrExt: string): string | false;
}
