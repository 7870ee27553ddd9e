/**
 * Indices (into scores[0..n)) of the first k in rank order: score descending, then `keyCmp` ascending —
 * without sorting all n: scores take few distinct values, so everything above the k-th score is sorted,
 * and from the k-th score's bucket only the smallest keys are kept by a bounded max-heap. O(n + k log k).
 */
export function topK(scores: Float64Array, n: number, k: number, keyCmp: (a: number, b: number) => number): number[] {
  if (k <= 0 || n === 0) return [];
  const rank = (a: number, b: number): number => (scores[b] as number) - (scores[a] as number) || keyCmp(a, b);
  if (n <= 2 * k || n <= 256) {
    const all = Array.from({ length: n }, (_, i) => i);
    return all.sort(rank).slice(0, k);
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(scores[i] as number, (counts.get(scores[i] as number) ?? 0) + 1);
  const distinct = [...counts.keys()].sort((a, b) => b - a);
  let above = 0;
  let cut = distinct[0] as number;
  for (const sc of distinct) {
    cut = sc;
    const c = counts.get(sc) as number;
    if (above + c >= k) break;
    above += c;
  }
  const head: number[] = [];
  const need = k - above;
  const heap: number[] = []; // max-heap by key of the `need` smallest keys of the cut bucket
  const swap = (i: number, j: number): void => {
    const t = heap[i] as number;
    heap[i] = heap[j] as number;
    heap[j] = t;
  };
  for (let x = 0; x < n; x++) {
    const sc = scores[x] as number;
    if (sc > cut) head.push(x);
    else if (sc === cut) {
      if (heap.length < need) {
        heap.push(x);
        for (let i = heap.length - 1; i > 0; ) {
          const p = (i - 1) >> 1;
          if (keyCmp(heap[i] as number, heap[p] as number) <= 0) break;
          swap(i, p);
          i = p;
        }
      } else if (keyCmp(heap[0] as number, x) > 0) {
        heap[0] = x;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && keyCmp(heap[l] as number, heap[m] as number) > 0) m = l;
          if (r < heap.length && keyCmp(heap[r] as number, heap[m] as number) > 0) m = r;
          if (m === i) break;
          swap(i, m);
          i = m;
        }
      }
    }
  }
  return head.sort(rank).concat(heap.sort(rank));
}
