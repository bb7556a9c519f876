// Accounts: per-asset balances in integer units and perpetual positions.
//
// `total` is the ledger (what the account owns, or for a margin asset its wallet balance) and
// `locked` is the part reserved for open orders. For spot, free = total - locked. For a margin
// asset, the initial margin of open positions is also unavailable: free = total - locked - margin.
// Conservation, which the property tests check:
//   spot asset:   sum(total) + fee account                      is constant
//   margin asset: sum(total) + fee account - sum(position basis) is constant
// (position basis is the signed quote cost of the open position, so that equation holds for any
// mark price: every trade moves value between the two sides, never in or out.)

export interface Position {
  /** Signed size in lots: + long, - short. */
  size: number;
  /** Signed cost basis in quote units (size * entry price * notionalFactor, kept exactly). */
  basis: number;
  /** Cumulative realized PnL in quote units. */
  realized: number;
  leverage: number;
  /** Initial margin held for this position in quote units: ceil(|basis| / leverage). */
  margin: number;
}

export class Account {
  readonly total: Float64Array;
  readonly locked: Float64Array;
  /** Initial margin of open positions, per margin asset. */
  readonly positionMargin: Float64Array;
  readonly positions = new Map<number, Position>();
  readonly leverage = new Map<number, number>();
  /**
   * Order id by client order id, of the open orders and of the closed ones the engine remembers.
   * Per account, keyed by the id's own string: its hash is computed once, not per lookup of a key
   * made for it.
   */
  readonly openByClientId = new Map<string, number>();
  readonly closedByClientId = new Map<string, number>();

  constructor(
    readonly id: number,
    readonly name: string,
    assetCount: number,
    /** Whether this account's closed orders stay queryable (background flow accounts opt out). */
    readonly keepClosedOrders = true,
  ) {
    this.total = new Float64Array(assetCount);
    this.locked = new Float64Array(assetCount);
    this.positionMargin = new Float64Array(assetCount);
  }

  free(asset: number): number {
    return (this.total[asset] as number) - (this.locked[asset] as number) - (this.positionMargin[asset] as number);
  }

  position(symbol: number, defaultLeverage: number): Position {
    let p = this.positions.get(symbol);
    if (p === undefined) {
      p = { size: 0, basis: 0, realized: 0, leverage: this.leverage.get(symbol) ?? defaultLeverage, margin: 0 };
      this.positions.set(symbol, p);
    }
    return p;
  }
}

/** Initial margin for a notional at a leverage, rounded up to a whole unit. */
export function marginFor(notionalUnits: number, leverage: number): number {
  return Math.ceil(Math.abs(notionalUnits) / leverage);
}

/**
 * Applies a trade of `lots` (signed: + bought, - sold) at `notionalUnits` (unsigned price * lots *
 * factor) to a position. Returns the realized PnL in quote units. Closing a part of the position
 * releases the same part of its basis; any rounding stays in the remaining basis, so the
 * conservation equation above holds exactly.
 */
export function applyTrade(p: Position, lots: number, notionalUnits: number): number {
  const signedNotional = lots > 0 ? notionalUnits : -notionalUnits;
  if (p.size === 0 || Math.sign(p.size) === Math.sign(lots)) {
    p.size += lots;
    p.basis += signedNotional;
    return 0;
  }
  const closing = Math.min(Math.abs(lots), Math.abs(p.size));
  const closeNotional = closing === Math.abs(lots) ? notionalUnits : Math.round((notionalUnits * closing) / Math.abs(lots));
  const closedBasis = closing === Math.abs(p.size) ? p.basis : Math.round((p.basis / Math.abs(p.size)) * closing);
  // A long closes by selling: gets closeNotional, gives up closedBasis. A short closes by buying.
  const realized = (p.size > 0 ? closeNotional : -closeNotional) - closedBasis;
  p.size += lots > 0 ? closing : -closing;
  p.basis -= closedBasis;
  const opening = Math.abs(lots) - closing;
  if (opening > 0) {
    p.size += lots > 0 ? opening : -opening;
    p.basis += lots > 0 ? notionalUnits - closeNotional : -(notionalUnits - closeNotional);
  }
  p.realized += realized;
  return realized;
}
