// The region bench's baseline: a grpc-js server whose one unary method does no work, started as a
// child process like the decider. Requests arrive as bytes and are not decoded; every call gets the
// same response bytes, sized like the decider's Authorize response. What this server
// answers per second on this machine is the transport's limit that the decider is compared with.
import { limitHttp2StreamRetention } from "@gatehouse/lifecycle";
import { Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { watchStalls } from "./process-watch.ts";

// argv: the response's size in bytes, the method's path.
const response = Buffer.alloc(Number(process.argv[2] ?? "0"), 1);
const identity = (b: Buffer) => b;
const definition: ServiceDefinition = {
  call: {
    path: process.argv[3] ?? "/gatehouse.bench.Noop/Call",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
// Like the decider, the same transport: what finished streams keep alive limited (@gatehouse/lifecycle).
limitHttp2StreamRetention();
// The decider's server options, so the two transports are configured alike.
const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024, "grpc.enable_channelz": 0 });
server.addService(definition, {
  call: (_call: unknown, callback: (e: null, r: Buffer) => void) => callback(null, response),
});
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) throw err;
  process.send?.({ type: "ready", port });
});
// The CPU this process used so far (user + system µs), and its stalls over a window, when the bench asks.
let watch: ReturnType<typeof watchStalls> | undefined;
process.on("message", (m: { type?: string }) => {
  if (m.type === "watch-start") {
    watch = watchStalls();
    process.send?.({ type: "watch-started" });
  } else if (m.type === "watch-stop") {
    const stalls = watch?.stop();
    watch = undefined;
    process.send?.({ type: "watched", stalls });
  }
  if (m.type !== "cpu") return;
  const used = process.cpuUsage();
  process.send?.({ type: "cpu", micros: used.user + used.system });
});
process.on("disconnect", () => server.forceShutdown());
