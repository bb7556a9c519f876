import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { createCcxtClient, keyVariables } from "../../src/exchanges/ccxt-client.js";
import { classifyExchangeError } from "../../src/exchanges/errors.js";

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe("ccxt client (real ccxt library)", () => {
  it("points every API URL at the override host and reads keys from the environment", async () => {
    const client = await createCcxtClient({
      exchangeId: "binanceusdm",
      baseUrl: "http://127.0.0.1:8801",
      env: { [keyVariables("binanceusdm").apiKey]: "k123", [keyVariables("binanceusdm").secret]: "s456" },
    });
    const api = client.exchange.urls["api"] as Record<string, unknown>;
    const urls = Object.values(api).filter((v): v is string => typeof v === "string");
    expect(urls.length).toBeGreaterThan(3);
    for (const u of urls) expect(u.startsWith("http://127.0.0.1:8801/")).toBe(true);
    expect(String(api["fapiPublic"])).toMatch(/^http:\/\/127\.0\.0\.1:8801\/fapi\/v1$/);
    expect(client.exchange.apiKey).toBe("k123");
    expect(client.exchange.secret).toBe("s456");
    expect(client.exchange.enableRateLimit).toBe(true);
  });

  it("names an unknown exchange id", async () => {
    await expect(createCcxtClient({ exchangeId: "nosuchexchange" })).rejects.toThrow(/no exchange "nosuchexchange"/);
  });

  it("surfaces an unreachable venue as a retryable network error", async () => {
    const port = await closedPort();
    const client = await createCcxtClient({ exchangeId: "binanceusdm", baseUrl: `http://127.0.0.1:${port}`, options: { fetchCurrencies: false } });
    const err = await client.fetchTicker("BTC/USDT:USDT").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(classifyExchangeError(err)).toBe("retryable");
  });
});
