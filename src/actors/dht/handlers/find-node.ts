/** FIND_NODE (200): up to K routing entries closest to the target, their PeerAddr only (PROTOCOL.md §5.6). */
import type { RoutingTable } from '../routing-table.js';
import type { FindNode, FindNodeResult } from '../types.js';

export interface FindNodeView {
  table: RoutingTable;
}

export function handleFindNode(view: FindNodeView, req: FindNode, requesterKey?: string): FindNodeResult {
  const exclude = requesterKey === undefined ? undefined : (k: string): boolean => k === requesterKey;
  return { peers: view.table.closest(req.targetNodeId, view.table.k, exclude).map((c) => c.addr) };
}
