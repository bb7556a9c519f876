// Publishing the investor PnL charts to a real S3 server (s3rver on loopback) and to a local store,
// through the library and through the `tradeloop pnl` command.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderedPnlChart } from "../../src/analysis/pnl-charts.js";
import { CACHE_CONTROL, plotModelPnl, publishPnlCharts } from "../../src/analysis/pnl-publish.js";
import { openStore } from "../../src/storage/open-store.js";
import { S3Store } from "../../src/storage/s3-store.js";
import { isPermanent, type TaskContext } from "../../src/orchestration/task.js";
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHandle } from "../helpers/s3rver.js";
import { plotPnlTask } from "../../jobs/plot-pnl.js";
import { publishPnlTask } from "../../jobs/publish-pnl.js";
import { observePnlTask } from "../../jobs/observe-pnl.js";
import { MODEL, buildPnlFixture, tmp, type PnlFixture } from "./pnl-fixture.js";

const BUCKET = "tl-investors";
const FILES = ["since_inception", "since_2024", "last_24hours", "last_5minutes"].flatMap((w) => [`cumulative_pnl.${w}.png`, `cumulative_pnl.${w}.svg`]);

let server: S3rverHandle;
let raw: S3Client;
let fx: PnlFixture;
let charts: RenderedPnlChart[];

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  raw = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  fx = await buildPnlFixture();
  charts = (await plotModelPnl({ root: fx.root, stage: "dev", model: MODEL })).charts;
}, 120_000);

afterAll(async () => {
  raw?.destroy();
  await server?.stop();
});

function bodyOf(fileName: string): Uint8Array {
  const a = charts.flatMap((c) => c.artifacts).find((x) => x.fileName === fileName);
  if (a === undefined) throw new Error(`no artifact ${fileName}`);
  return a.body;
}

const CLI = join(process.cwd(), "src", "cli", "main.ts");

function cli(args: string[], env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const p = spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return { stdout: p.stdout, stderr: p.stderr, status: p.status };
}

describe("publishing PnL charts", () => {
  it("to S3: the right keys, content types and cache headers (HeadObject), and the bytes", async () => {
    const store = new S3Store({ bucket: BUCKET, prefix: "site", endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    try {
      const published = await publishPnlCharts(store, MODEL, charts);
      expect(published.map((p) => p.key)).toEqual(FILES.map((f) => `pnl_for_investors/${MODEL}/${f}`));
      expect(published.every((p) => p.headersStored)).toBe(true);
      for (const f of FILES) {
        const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `site/pnl_for_investors/${MODEL}/${f}` }));
        expect(head.ContentType).toBe(f.endsWith(".png") ? "image/png" : "image/svg+xml");
        const live = f.includes("last_");
        expect(head.CacheControl).toBe(live ? "public, max-age=60" : "public, max-age=3600");
        expect(head.ContentLength).toBe(bodyOf(f).length);
      }
      const got = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: `site/pnl_for_investors/${MODEL}/cumulative_pnl.since_inception.png` }));
      expect(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(Buffer.from(bodyOf("cumulative_pnl.since_inception.png")))).toBe(true);
      // A second publish replaces every object in place: same keys, nothing else appears.
      await publishPnlCharts(store, MODEL, charts);
      expect(await store.list(`pnl_for_investors/${MODEL}`)).toEqual(FILES.map((f) => `pnl_for_investors/${MODEL}/${f}`).sort());
    } finally {
      store.close();
    }
    expect(CACHE_CONTROL.since_inception).toBe("public, max-age=3600");
  });

  it("to a local store: the same files under pnl_for_investors/<model>/", async () => {
    const dir = tmp("tl-pnl-pub-");
    const published = await publishPnlCharts(openStore(dir), MODEL, charts);
    expect(published).toHaveLength(8);
    // A folder keeps no headers, and says so rather than report them as set.
    expect(published.every((p) => !p.headersStored)).toBe(true);
    const cliOut = cli(["pnl", "publish", "--model", MODEL, "--root", fx.root, "--to", tmp("tl-pnl-pub-cli-")]);
    expect(cliOut.status, cliOut.stderr).toBe(0);
    expect(cliOut.stdout.trim().split("\n").map((l) => l.split("\t").slice(1))).toEqual(FILES.map(() => ["-", "-"]));
    expect(cliOut.stderr).toMatch(/is a folder: it keeps no content type or cache headers/);
    for (const f of FILES) expect(readFileSync(join(dir, "pnl_for_investors", MODEL, f)).equals(Buffer.from(bodyOf(f)))).toBe(true);
  });

  it("a bad model name is refused before anything is written", async () => {
    await expect(publishPnlCharts(openStore(tmp("tl-pnl-bad-")), "../x", charts)).rejects.toThrow(/model "\.\.\/x" cannot name a folder/);
  });
});

describe("tradeloop pnl", () => {
  it("plot writes the eight files and prints their paths; publish --to s3:// prints the keys", () => {
    const out = tmp("tl-pnl-cli-");
    const plot = cli(["pnl", "plot", "--model", MODEL, "--root", fx.root, "--out", out]);
    expect(plot.status, plot.stderr).toBe(0);
    expect(plot.stdout.trim().split("\n")).toEqual(FILES.map((f) => join(out, f)));
    expect(plot.stderr).toMatch(/momentum \(dev\): 3 runs found, 3 contributing, 96 bars/);
    // Same data, same bytes as the library drew.
    for (const f of FILES) expect(readFileSync(join(out, f)).equals(Buffer.from(bodyOf(f)))).toBe(true);

    const pub = cli(["pnl", "publish", "--model", MODEL, "--root", fx.root, "--to", `s3://${BUCKET}/cli`], {
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
    });
    expect(pub.status, pub.stderr).toBe(0);
    expect(pub.stdout.trim().split("\n").map((l) => l.split("\t")[0])).toEqual(FILES.map((f) => `pnl_for_investors/${MODEL}/${f}`));
  }, 120_000);

  it("plot with --as-of after the data names the since-<year> chart by that year; a model with no runs is not an error", () => {
    const later = tmp("tl-pnl-cli-later-");
    const l = cli(["pnl", "plot", "--model", MODEL, "--root", fx.root, "--out", later, "--as-of", "2025-06-01T00:00:00Z"]);
    expect(l.status, l.stderr).toBe(0);
    expect(l.stdout).toContain(join(later, "cumulative_pnl.since_2025.svg"));
    expect(readFileSync(join(later, "cumulative_pnl.last_24hours.svg"), "utf8")).toContain("no data");
    const out = tmp("tl-pnl-cli-empty-");
    const r = cli(["pnl", "plot", "--model", "nosuchmodel", "--root", fx.root, "--out", out, "--year", "2023"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/0 runs found.*no PnL yet/);
    expect(existsSync(join(out, "cumulative_pnl.since_2023.png"))).toBe(true);
    const bad = cli(["pnl", "plot", "--model", MODEL, "--root", fx.root, "--year", "20x4"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--year must be a calendar year/);
  }, 120_000);
});

describe("the pnl_observer task (every 5 minutes while a session runs)", () => {
  it("publishes only the live windows, ending at its slot, from a session still being written", async () => {
    // The fixture's run C (05:00-08:00) caught mid-session at 06:32: no summary yet, its portfolio
    // written up to 06:30 and a torn last line.
    const root = tmp("tl-pnl-observer-");
    cpSync(fx.root, root, { recursive: true });
    const c = join(root, relative(fx.root, (fx.runs.find((r) => r.name === "C") as { runDir: string }).runDir), "system_log_dir");
    rmSync(join(c, "summary.json"));
    const slot = Date.UTC(2024, 0, 2, 6, 35);
    const kept = readFileSync(join(c, "portfolio.jsonl"), "utf8").split("\n").filter((l) => l !== "" && (JSON.parse(l) as { timestamp: number }).timestamp <= Date.UTC(2024, 0, 2, 6, 30));
    writeFileSync(join(c, "portfolio.jsonl"), kept.join("\n") + '\n{"bar":31,"timest');
    const site = tmp("tl-pnl-observer-site-");
    const out = (await observePnlTask({
      dagId: `pnl_observer.${MODEL}`, taskId: "publish_live_pnl", runKey: `pnl_observer.${MODEL}.scheduled.20240102_063000`, runType: "scheduled",
      logicalStart: slot - 5 * 60_000, logicalEnd: slot, conf: { model: MODEL, modes: ["simulation"], publishRoot: site }, attempt: 1, dataRoot: root,
      signal: new AbortController().signal, upstream: {}, log: () => undefined, progress: () => undefined,
    })) as { published: { key: string; cacheControl: string }[] };
    const live = ["last_24hours", "last_5minutes"].flatMap((w) => [`cumulative_pnl.${w}.png`, `cumulative_pnl.${w}.svg`]);
    expect(out.published.map((p) => p.key)).toEqual(live.map((f) => `pnl_for_investors/${MODEL}/${f}`));
    expect(readdirSync(join(site, "pnl_for_investors", MODEL)).sort()).toEqual([...live].sort());
    // The same pictures as the charts drawn as of the slot from the same runs.
    const asOfSlot = (await plotModelPnl({ root, stage: "dev", model: MODEL, modes: ["simulation"], asOf: slot })).charts.flatMap((ch) => ch.artifacts);
    for (const f of live) expect(readFileSync(join(site, "pnl_for_investors", MODEL, f)).equals(Buffer.from((asOfSlot.find((a) => a.fileName === f) as { body: Uint8Array }).body)), f).toBe(true);
    // The last-24-hours window ends at the slot, with the half-written session's bars in it, up to 06:30.
    const day = (await plotModelPnl({ root, stage: "dev", model: MODEL, modes: ["simulation"], asOf: slot })).charts.find((ch) => ch.window.kind === "last_24hours");
    expect(day?.window.toMs).toBe(slot);
    expect(day?.window.points.at(-1)?.timestamp).toBe(Date.UTC(2024, 0, 2, 6, 30));
  }, 120_000);
});

describe("plot_pnl and publish_pnl tasks", () => {
  const ctx = (conf: Record<string, unknown>): TaskContext => ({
    dagId: `pnl_observer.${MODEL}`, taskId: "publish_pnl", runKey: `pnl_observer.${MODEL}.scheduled.20240102_080000`, runType: "scheduled",
    logicalStart: Date.UTC(2024, 0, 2, 7, 55), logicalEnd: Date.UTC(2024, 0, 2, 8), conf, attempt: 1, dataRoot: fx.root,
    signal: new AbortController().signal, upstream: {}, log: () => undefined, progress: () => undefined,
  });

  it("plot_pnl writes the charts beside the stages; publish_pnl puts them on conf.publishRoot", async () => {
    const plotted = (await plotPnlTask(ctx({ model: MODEL }))) as { files: string[]; bars: number };
    expect(plotted.bars).toBe(96);
    expect(plotted.files).toEqual(FILES.map((f) => join(fx.root, "pnl_charts", "dev", MODEL, f)));
    for (const f of FILES) expect(readFileSync(join(fx.root, "pnl_charts", "dev", MODEL, f)).equals(Buffer.from(bodyOf(f)))).toBe(true);
    const site = tmp("tl-pnl-task-pub-");
    const out = (await publishPnlTask(ctx({ model: MODEL, publishRoot: site }))) as { publishRoot: string; published: { key: string; cacheControl: string }[] };
    expect(out.publishRoot).toBe(site);
    expect(out.published.map((p) => p.key)).toEqual(FILES.map((f) => `pnl_for_investors/${MODEL}/${f}`));
    expect(existsSync(join(site, "pnl_for_investors", MODEL, "cumulative_pnl.last_5minutes.png"))).toBe(true);
    // Without publishRoot: the data root.
    await publishPnlTask(ctx({ model: MODEL, asOf: "2024-01-02T04:00:00Z" }));
    expect(existsSync(join(fx.root, "pnl_for_investors", MODEL, "cumulative_pnl.since_2024.svg"))).toBe(true);
  });

  it("a bad conf is named", async () => {
    await expect(plotPnlTask(ctx({}))).rejects.toThrow(/conf: model: /);
    await expect(plotPnlTask(ctx({ model: MODEL, asOf: "yesterday" }))).rejects.toThrow(/conf: asOf: /);
    await expect(publishPnlTask(ctx({ model: "../x" }))).rejects.toSatisfy((e: unknown) => isPermanent(e) && /conf: model: /.test(String(e)));
  });
});
