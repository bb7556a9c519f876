// A reader that stops early (`tradeloop dags show ... | head -1`) closes the pipe: the command ends
// quietly with status 0, as a Unix tool does, not with an EPIPE stack trace.

import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("stdout closed by its reader", () => {
  it("ends the command quietly", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "dags", "show", "paper_trading.momentum"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    // The reader is gone before the command writes (head -1 gone after its line, earlier still).
    child.stdout.destroy();
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(status).toBe(0);
  }, 30_000);
});
