/**
 * An agent answers the agent-requests that reach its node: it follows the node's event log from its last cursor,
 * answers each request through a Replier, and records the request's cursor under its consumer name, so after a
 * reconnect (the daemon restarted, or the agent did) it resumes where it stopped and misses nothing.
 */
import { setTimeout as sleep } from "node:timers/promises";

import { Code, ConnectError } from "@connectrpc/connect";

import { EventDirection, type Event } from "../gen/ecco/v1/common_pb.js";
import { connectNode, type ConnectOptions, type NodeConnection } from "./node.ts";

/** An inbound agent-request another node sent to this one. */
export interface AgentRequest {
  /** The sender, the peer every reply goes to. */
  peerId: string;
  /** The request's message id; every reply carries it as requestId. */
  id: string;
  /** The payload's "prompt" text. */
  prompt: string;
  /** The event-log entry the request came in as. */
  event: Event;
}

/**
 * Answers one request: any number of chunks, then respond (or fail). Each reply has an idempotency key derived
 * from the request, so answering the same request again after a reconnect sends nothing twice: the peer drops
 * message ids it has seen.
 */
export class Replier {
  #connection: NodeConnection;
  #request: Pick<AgentRequest, "peerId" | "id">;
  #chunks = 0;

  constructor(connection: NodeConnection, request: Pick<AgentRequest, "peerId" | "id">) {
    this.#connection = connection;
    this.#request = request;
  }

  /** Streams a partial answer (a stream-chunk). */
  async chunk(text: string): Promise<void> {
    this.#chunks += 1;
    const payload = { requestId: this.#request.id, chunk: text, partial: true };
    await this.#send(`chunk-${this.#chunks}`, "stream-chunk", payload);
  }

  /** Sends the final answer: a stream-complete when chunks were streamed, then the agent-response. */
  async respond(text: string): Promise<void> {
    if (this.#chunks > 0) {
      await this.#send("complete", "stream-complete", { requestId: this.#request.id, text, complete: true });
    }
    await this.#send("response", "agent-response", {
      requestId: this.#request.id,
      response: { text, finishReason: "stop" },
    });
  }

  /** Answers with an error instead of a result. */
  async fail(reason: string): Promise<void> {
    await this.#send("response", "agent-response", { requestId: this.#request.id, response: { error: reason } });
  }

  async #send(suffix: string, type: string, payload: object): Promise<void> {
    await this.#connection.messaging.sendMessage({
      requestId: `${this.#request.id}:${suffix}`,
      peerId: this.#request.peerId,
      type,
      payloadJson: JSON.stringify(payload),
    });
  }
}

/** What an agent is doing, for logs and tests. */
export interface AgentStatus {
  /**
   * "subscribed", "answered", "failed" (the handler or a reply failed; the request is skipped) or "disconnected"
   * (the agent reconnects and resumes from `cursor`).
   */
  state: "subscribed" | "answered" | "failed" | "disconnected";
  cursor: bigint;
  requestId?: string;
  error?: string;
}

export interface AgentOptions extends ConnectOptions {
  /** The node's name (see selectNode for none). */
  node?: string;
  /** The name under which the node keeps this agent's cursor; default "agent". */
  consumer?: string;
  /** Answers one request through the Replier. */
  handle: (reply: Replier, request: AgentRequest) => Promise<void>;
  /** Hears about every state change. */
  onStatus?: (status: AgentStatus) => void;
  /** Stops the agent. */
  signal?: AbortSignal;
  /** The longest wait between reconnect attempts, in milliseconds; default 5000. */
  maxBackoffMs?: number;
}

/** Serves requests until `signal` aborts, reconnecting with exponential backoff whenever the node goes away. */
export async function runAgent(options: AgentOptions): Promise<void> {
  const state = { cursor: 0n };
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  let backoffMs = 50;
  while (!options.signal?.aborted) {
    const { reachedNode, error } = await serve(options, state);
    if (options.signal?.aborted) return;
    if (reachedNode) backoffMs = 50;
    options.onStatus?.({ state: "disconnected", cursor: state.cursor, error: String(error) });
    try {
      await sleep(backoffMs, undefined, { signal: options.signal });
    } catch {
      return; // aborted while waiting
    }
    backoffMs = Math.min(2 * backoffMs, maxBackoffMs);
  }
}

/** One connection's life: whether the node answered, and why it ended. */
async function serve(
  options: AgentOptions,
  state: { cursor: bigint },
): Promise<{ reachedNode: boolean; error: unknown }> {
  let connection: NodeConnection;
  try {
    connection = connectNode(options.node, options);
  } catch (error) {
    return { reachedNode: false, error };
  }
  const consumer = options.consumer || "agent";
  const signal = options.signal;
  let reachedNode = false;
  try {
    await connection.node.getStatus({}, { signal, timeoutMs: 10_000 });
    reachedNode = true;
    // The log is durable, so nothing is missed between here and the first event: the subscription replays every
    // request after max(cursor, the consumer's committed cursor), then follows new ones.
    const stream = connection.events.subscribe(
      { cursor: state.cursor, types: ["agent-request"], follow: true, consumer },
      { signal },
    );
    options.onStatus?.({ state: "subscribed", cursor: state.cursor });
    for await (const batch of stream) {
      for (const event of batch.events) {
        const outcome = await handle(options, connection, event);
        await connection.events.commitCursor({ consumer, cursor: event.cursor }, { signal });
        state.cursor = event.cursor;
        if (outcome) options.onStatus?.(outcome); // once committed: a restarted agent will not answer it again
      }
    }
    return { reachedNode, error: new Error("the event stream ended") };
  } catch (error) {
    return { reachedNode, error };
  } finally {
    connection.close();
  }
}

/**
 * Answers one event and says how it went (undefined for an event that is not an inbound request). Only a lost
 * connection to our own node is thrown (the event is then retried after the reconnect); any other failure becomes
 * a "failed" outcome and the request is skipped, so one bad request cannot wedge the agent.
 */
async function handle(
  options: AgentOptions,
  connection: NodeConnection,
  event: Event,
): Promise<AgentStatus | undefined> {
  if (event.direction !== EventDirection.INBOUND) return undefined;
  const request = { peerId: event.peerId, id: event.messageId, prompt: "", event };
  const reply = new Replier(connection, request);
  try {
    const prompt = promptOf(event.payloadJson);
    if (prompt === undefined) {
      await reply.fail("invalid agent-request: missing prompt");
    } else {
      await options.handle(reply, { ...request, prompt });
    }
    return { state: "answered", cursor: event.cursor, requestId: request.id };
  } catch (error) {
    if (connectionLost(error)) throw error;
    return { state: "failed", cursor: event.cursor, requestId: request.id, error: String(error) };
  }
}

/**
 * The prompt of an agent-request payload, as the daemon reads it: {"prompt": "text"}, or AI-SDK messages
 * ({"prompt": [{"role": "user", "content": "text" or [{"type": "text", "text": "..."}]}]}) whose user text parts
 * are joined with newlines; undefined when there is none.
 */
export function promptOf(payloadJson: string): string | undefined {
  let prompt: unknown;
  try {
    prompt = (JSON.parse(payloadJson) as { prompt?: unknown } | null)?.prompt;
  } catch {
    return undefined;
  }
  if (typeof prompt === "string") return prompt;
  if (!Array.isArray(prompt)) return undefined;
  const texts: string[] = [];
  for (const message of prompt as unknown[]) {
    if (typeof message !== "object" || message === null) continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (role !== "user") continue;
    if (typeof content === "string") texts.push(content);
    else if (Array.isArray(content)) {
      for (const part of content as unknown[]) {
        const text = typeof part === "object" && part !== null ? (part as { text?: unknown }).text : undefined;
        if (typeof text === "string") texts.push(text);
      }
    }
  }
  return texts.length > 0 ? texts.join("\n") : undefined;
}

function connectionLost(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return code === Code.Unavailable || code === Code.Canceled || code === Code.DeadlineExceeded;
}
