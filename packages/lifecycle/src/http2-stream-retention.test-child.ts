// Run by http2-stream-retention.test.ts as `node --expose-gc http2-stream-retention.test-child.ts
// <limited|stock>` with an IPC channel: an HTTP/2 server whose every call keeps ~8 KB of state in a
// `close` listener of its stream (as grpc-js's listeners hold its call), driven by the test's
// client. `full-gc` runs a full collection (which promotes the session's stream table in use, as
// one does under load); `measure` then runs two young-generation collections and answers how much
// the old generation grew since the last measure: the bytes of finished calls those kept.
import { once } from "node:events";
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { getHeapSpaceStatistics } from "node:v8";
import { http2StreamRetention, limitHttp2StreamRetention } from "./http2-stream-retention.ts";

type Gc = (options: { type: "minor" | "major"; execution: "sync" }) => void;
const gc = (globalThis as { gc?: Gc }).gc;
const send = process.send?.bind(process);
if (gc === undefined || send === undefined) throw new Error("run with --expose-gc and an IPC channel");
if (process.argv[2] === "limited") limitHttp2StreamRetention();

const server = createServer();
server.on("stream", (stream) => {
  const state = new Array<number>(1024).fill(stream.id ?? 0);
  stream.on("close", () => {
    if (state.length !== 1024) throw new Error("unreachable");
  });
  stream.respond({ ":status": 200 }, { endStream: true });
  stream.resume();
});
server.listen(0, "127.0.0.1");
await once(server, "listening");

const oldSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === "old_space")?.space_used_size ?? 0;
let before = 0;
process.on("message", (m: { type: string }) => {
  if (m.type === "full-gc") {
    gc({ type: "major", execution: "sync" });
    before = oldSpaceUsed();
    send({ type: "done" });
  } else if (m.type === "measure") {
    // After the calls' `close` handling (an immediate) has run.
    setImmediate(() => {
      gc({ type: "minor", execution: "sync" });
      gc({ type: "minor", execution: "sync" });
      const after = oldSpaceUsed();
      send({ type: "measured", promoted: after - before, retention: http2StreamRetention() });
      before = after;
    });
  } else if (m.type === "stop") {
    server.close();
    process.disconnect();
  }
});
send({ type: "ready", port: (server.address() as AddressInfo).port });
