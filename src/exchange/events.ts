// Events the engine emits, in order, each with a global sequence number. Amounts are integers
// (price in ticks, quantity in lots, money in asset units) so emitting costs no formatting; the
// instrument's formatPrice / formatQty / formatQuote turn them into decimal strings at the edge.

export type OrderSideName = "buy" | "sell";
export type OrderTypeName = "limit" | "market";
export type TimeInForce = "GTC" | "IOC" | "FOK";

export type RejectReason =
  | "unknown_instrument"
  | "unknown_account"
  | "unknown_order"
  | "invalid_request"
  | "invalid_price"
  | "invalid_quantity"
  | "off_tick"
  | "off_lot"
  | "below_min_quantity"
  | "below_min_notional"
  | "price_out_of_band"
  | "insufficient_balance"
  | "insufficient_margin"
  | "post_only_would_cross"
  | "reduce_only_would_increase"
  | "reduce_only_not_supported"
  | "duplicate_client_order_id"
  | "amend_would_cross"
  | "invalid_leverage";

export type CancelReason = "user" | "self_trade_prevention" | "reduce_only";
export type ExpireReason = "ioc_remainder" | "fok_unfillable" | "market_remainder";

interface Base {
  seq: number;
  ts: number;
  symbol: string;
}

export interface OrderAcceptedEvent extends Base {
  type: "accepted";
  orderId: number;
  account: number;
  clientOrderId: string | undefined;
  side: OrderSideName;
  orderType: OrderTypeName;
  tif: TimeInForce;
  postOnly: boolean;
  reduceOnly: boolean;
  price: number;
  qty: number;
}

export interface OrderRejectedEvent extends Base {
  type: "rejected";
  account: number;
  clientOrderId: string | undefined;
  /** Set when an operation on an existing order (amend) was rejected. */
  orderId: number | undefined;
  reason: RejectReason;
  message: string;
}

export interface OrderFillEvent extends Base {
  type: "partially_filled" | "filled";
  orderId: number;
  account: number;
  tradeId: number;
  side: OrderSideName;
  orderType: OrderTypeName;
  liquidity: "maker" | "taker";
  price: number;
  qty: number;
  filled: number;
  remaining: number;
  fee: number;
  feeAsset: string;
}

export interface OrderCanceledEvent extends Base {
  type: "canceled";
  orderId: number;
  account: number;
  remaining: number;
  reason: CancelReason;
}

export interface OrderExpiredEvent extends Base {
  type: "expired";
  orderId: number;
  account: number;
  remaining: number;
  reason: ExpireReason;
}

export interface OrderAmendedEvent extends Base {
  type: "amended";
  orderId: number;
  account: number;
  price: number;
  qty: number;
  remaining: number;
  keptPriority: boolean;
}

export interface TradeEvent extends Base {
  type: "trade";
  tradeId: number;
  price: number;
  qty: number;
  takerSide: OrderSideName;
  makerOrderId: number;
  takerOrderId: number;
  makerAccount: number;
  takerAccount: number;
}

export interface BookUpdateEvent extends Base {
  type: "book";
  /** Per-symbol book sequence, like an exchange's update id. */
  updateId: number;
  side: OrderSideName;
  price: number;
  /** New total quantity at the level; 0 removes it. */
  qty: number;
}

export type ExchangeEvent =
  | OrderAcceptedEvent
  | OrderRejectedEvent
  | OrderFillEvent
  | OrderCanceledEvent
  | OrderExpiredEvent
  | OrderAmendedEvent
  | TradeEvent
  | BookUpdateEvent;

export type ExchangeEventListener = (event: ExchangeEvent) => void;
