// `tradeloop parquet <run>`: writes the Parquet copies of a finished run's broker log (a run
// directory, its system_log_dir, a broker experiment's folder or a broker_log folder), the same
// files the DAGs' `broker_log_parquet` task writes.

import type { Command } from "commander";
import { locateBrokerLogDir, writeBrokerLogParquetParallel } from "../oms/broker-log-parquet.js";
import { formatTable } from "./table.js";

export function registerParquet(program: Command): void {
  program
    .command("parquet")
    .description("write the Parquet copies of a finished run's large broker-log streams (trades, child orders, bid/ask, order states, parent fills)")
    .argument("<run>", "run directory, system_log_dir, broker experiment folder or broker_log folder")
    .action(async (path: string) => {
      const t0 = performance.now();
      const dir = locateBrokerLogDir(path);
      const files = await writeBrokerLogParquetParallel(dir);
      const rows = files.map((f) => [f.stream, String(f.rows), String(f.columns.length), f.path]);
      process.stdout.write(
        (files.length === 0 ? `${dir}: every stream is empty: no copy written\n` : formatTable(["stream", "rows", "columns", "file"], rows) + "\n") +
          `wall ${((performance.now() - t0) / 1000).toFixed(2)} s\n`,
      );
    });
}
