// Child process for the s3rver test harness: starts s3rver on 127.0.0.1 and reports its port to the
// parent over IPC. It runs in its own Node process because s3rver encrypts ListObjectsV2
// continuation tokens with DES, which OpenSSL 3 only has in its legacy provider: the parent starts
// this file with --openssl-legacy-provider, so paginated listings work without changing how the
// test process itself runs.

import process from "node:process";
import S3rver from "s3rver";

const { directory, buckets } = JSON.parse(process.argv[2] ?? "{}");
const server = new S3rver({
  address: "127.0.0.1",
  // Port 0: the OS picks a free port, so parallel test files never collide.
  port: 0,
  silent: true,
  directory,
  configureBuckets: (buckets ?? []).map((name) => ({ name })),
});

const address = await server.run();
process.send?.({ port: address.port });

// The parent going away (test end, crash, kill) closes the IPC channel: stop with it.
process.on("disconnect", () => {
  void server.close().finally(() => process.exit(0));
});
