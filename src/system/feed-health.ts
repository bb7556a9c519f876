// What a run does about a live feed's failed polls (prod: the exchange's order book over ccxt).
// Every bar boundary it asks the feed what failed since the previous bar: failures become one
// warning for that bar (in log.txt and the summary), with a count, instead of vanishing. When no
// symbol has had a successful poll for longer than the allowed outage, the run stops: marks,
// targets and limit prices would all come from stale prices while orders may still reach the
// exchange, and a failed task is what alerts the operator. The orchestrator's retry resumes the
// session from its last checkpoint (bars that passed meanwhile are skipped with a warning), so a
// failure loses no state.

import { isoUtc } from "../core/iso-utc.js";
import type { FeedReport } from "../marketdata/exchange-client-feed.js";

export class MarketDataOutageError extends Error {
  override readonly name = "MarketDataOutageError";
}

/** Symbols named in a warning at most, so a 100-symbol outage stays one readable line. */
const MAX_NAMED = 5;

/**
 * `(t) => warnings` for the bar at `t`; throws MarketDataOutageError once every symbol's polls have
 * failed for more than `maxOutageMs`.
 */
export function feedHealthCheck(feed: { report(): FeedReport }, source: string, maxOutageMs: number): (t: number) => string[] {
  return (t) => {
    const r = feed.report();
    const last = r.failing[r.failing.length - 1]?.message;
    if (r.downSince !== undefined && t - r.downSince > maxOutageMs) {
      throw new MarketDataOutageError(
        `market data from ${source}: every poll has failed since ${isoUtc(r.downSince)} (${Math.round((t - r.downSince) / 1000)} s, more than the ${maxOutageMs / 1000} s allowed by data.maxOutageSeconds; last error: ${last ?? "none"}): stopping rather than trading on stale prices; a retry resumes from the last checkpoint`,
      );
    }
    if (r.failedPolls === 0) return [];
    const names = r.failing.slice(0, MAX_NAMED).map((f) => f.symbol).join(", ") + (r.failing.length > MAX_NAMED ? ` and ${r.failing.length - MAX_NAMED} more` : "");
    const still = r.failing.length === 0 ? "all symbols polled again since" : `still failing: ${names}; last error: ${last ?? ""}`;
    return [`market data from ${source}: ${r.failedPolls} of ${r.polls} polls failed since the previous bar (${still})`];
  };
}
