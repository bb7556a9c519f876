// ccxt's fetchMyTrades(symbol, since, limit) over a per-symbol list kept in time order: a binary
// search to the first trade at or after `since` instead of a scan of the whole history (the broker
// asks once per wave, all day long). Returns copies, as an exchange's answer would be.

import type { CcxtTrade } from "../oms/ccxt-types.js";

export function tradesSince(all: readonly CcxtTrade[], since: number | undefined, limit: number | undefined): CcxtTrade[] {
  let lo = 0;
  let hi = all.length;
  while (since !== undefined && lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((all[mid] as CcxtTrade).timestamp < since) lo = mid + 1;
    else hi = mid;
  }
  const end = limit === undefined ? all.length : Math.min(all.length, lo + limit);
  return all.slice(lo, end).map((t) => ({ ...t }));
}
