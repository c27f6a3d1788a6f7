/**
 * An example ecco agent: it answers every agent-request that reaches its node with the prompt itself, streamed
 * back word by word, then the final agent-response. It prints one JSON line per state change and resumes from
 * its last cursor when the node restarts.
 *
 *   node examples/echo-agent.ts --node alice          # over the unix socket
 *   node examples/echo-agent.ts --node alice --tcp    # over loopback TCP with the node's bearer token
 */
import { parseArgs } from "node:util";

import { runAgent } from "../src/index.ts";

const { values } = parseArgs({
  options: {
    node: { type: "string" },
    tcp: { type: "boolean", default: false },
    consumer: { type: "string", default: "echo-agent" },
  },
});

const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());

await runAgent({
  node: values.node,
  tcp: values.tcp,
  consumer: values.consumer,
  signal: stop.signal,
  handle: async (reply, request) => {
    for (const word of request.prompt.split(/(?<= )/)) await reply.chunk(word);
    await reply.respond(request.prompt);
  },
  onStatus: (status) => console.log(JSON.stringify({ ...status, cursor: Number(status.cursor) })),
});
