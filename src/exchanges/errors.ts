// Exchange errors named as ccxt names them, so one classifier serves the embedded venue and the real
// ccxt library alike (it reads the class-name chain, not `instanceof` a particular copy of ccxt).

export class ExchangeError extends Error {
  override name = "ExchangeError";
}
export class InvalidOrder extends ExchangeError {
  override name = "InvalidOrder";
}
export class OrderNotFound extends InvalidOrder {
  override name = "OrderNotFound";
}
export class InsufficientFunds extends ExchangeError {
  override name = "InsufficientFunds";
}
export class BadSymbol extends ExchangeError {
  override name = "BadSymbol";
}
export class NetworkError extends Error {
  override name = "NetworkError";
}
export class ExchangeNotAvailable extends NetworkError {
  override name = "ExchangeNotAvailable";
}
export class RequestTimeout extends NetworkError {
  override name = "RequestTimeout";
}
export class RateLimitExceeded extends NetworkError {
  override name = "RateLimitExceeded";
}

/**
 * retryable: nothing happened, send again (network trouble, exchange not available, rate limit).
 * unknown_outcome: the request may have reached the exchange (timeout): ask by client id first.
 * not_found: the order does not exist (for a cancel this counts as done).
 * definitive: the exchange said no; record it, do not retry.
 */
export type ErrorClass = "retryable" | "unknown_outcome" | "not_found" | "definitive";

function classNames(e: unknown): string[] {
  const names: string[] = [];
  for (let p: unknown = e === null || typeof e !== "object" ? undefined : Object.getPrototypeOf(e); p !== null && p !== undefined && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const ctor = (p as { constructor?: { name?: string } }).constructor;
    if (ctor?.name !== undefined) names.push(ctor.name);
  }
  if (e instanceof Error) names.unshift(e.name);
  return names;
}

export function classifyExchangeError(e: unknown): ErrorClass {
  const names = classNames(e);
  if (names.includes("RequestTimeout")) return "unknown_outcome";
  if (names.includes("OrderNotFound")) return "not_found";
  if (names.includes("NetworkError") || names.includes("ExchangeNotAvailable") || names.includes("RateLimitExceeded") || names.includes("DDoSProtection")) return "retryable";
  return "definitive";
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Whether `e` is an error of an exchange or of the way to it (ccxt's or ours), not a bug. */
export function isExchangeError(e: unknown): boolean {
  const names = classNames(e);
  return names.includes("ExchangeError") || names.includes("NetworkError") || names.includes("BaseError");
}
