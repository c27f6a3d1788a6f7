/**
 * The TypeScript client against a live node: every service answers, over the unix socket and over TCP with the
 * token. tests/e2e/test_ts_client.py runs this with ECCO_HOME and ECCO_NODE pointing at a running node.
 */
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";

import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { NodeService } from "../gen/ecco/v1/node_service_pb.js";
import { Code, ConnectError, connectNode, reasonOf, selectNode, type NodeConnection } from "../src/index.ts";

test("selectNode names the problem when the node is not running", () => {
  const home = mkdtempSync(join(tmpdir(), "ecco-ts-"));
  mkdirSync(join(home, "nodes", "idle"), { recursive: true });
  assert.throws(() => selectNode("idle", home), /node "idle" is not running/);
  assert.throws(() => selectNode("bad/name", home), /invalid node name/);
});

/** The running node to call, or undefined (the test is then skipped) outside the e2e test. */
function liveNode(t: TestContext): string | undefined {
  const name = process.env.ECCO_NODE;
  if (!name || !process.env.ECCO_HOME) {
    t.skip("needs a running node: set ECCO_HOME and ECCO_NODE (tests/e2e/test_ts_client.py does)");
    return undefined;
  }
  return name;
}

/**
 * Passes when the call reached the service: a real answer, or an ecco error with its ErrorInfo reason. Services
 * not built yet answer UNIMPLEMENTED with FEATURE_NOT_IMPLEMENTED; once they are, a validation error (or a real
 * answer) proves the call got through just as well.
 */
async function answered(method: string, call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (caught) {
    const error = ConnectError.from(caught);
    const reason = reasonOf(error);
    assert.notEqual(reason, "", `${method}: an error without an ecco reason: ${error.message}`);
    if (error.code === Code.Unimplemented) assert.equal(reason, "FEATURE_NOT_IMPLEMENTED", method);
    const broken = [Code.Internal, Code.Unknown, Code.Unavailable, Code.Unauthenticated];
    assert.ok(!broken.includes(error.code), `${method}: ${error.message} (${reason})`);
  }
}

async function callEveryService(connection: NodeConnection, name: string): Promise<void> {
  const status = await connection.node.getStatus({});
  assert.equal(status.name, name);
  assert.match(status.peerId, /^12D3KooW/);
  await answered("GetConfig", connection.node.getConfig({}));

  const page = await connection.events.listEvents({ pageSize: 10 });
  const first = page.events[0];
  assert.ok(first, "ListEvents returned no event");
  const committed = await connection.events.commitCursor({ consumer: "ts-test", cursor: first.cursor });
  assert.ok(committed.cursor >= first.cursor);
  const got = await connection.events.getCursor({ consumer: "ts-test" });
  assert.equal(got.cursor, committed.cursor);
  let replayed = 0;
  for await (const batch of connection.events.subscribe({ cursor: 0n })) replayed += batch.events.length;
  assert.ok(replayed > 0, "Subscribe replayed no event");
  await assert.rejects(connection.events.listEvents({ cursor: -1n }), (error: unknown) => {
    assert.equal(ConnectError.from(error).code, Code.InvalidArgument);
    assert.equal(reasonOf(error), "INVALID_CURSOR");
    return true;
  });

  const peers = await connection.messaging.listPeers({ connectedOnly: true });
  assert.ok(peers.connectedCount > 0, "ListPeers: no connected peer");
  await answered("FindPeers", connection.discovery.findPeers({ query: { name: "nobody-offers-this" } }));
  await answered("ListReputation", connection.discovery.listReputation({}));

  await answered("Consensus.Query", connection.consensus.query({}));
  await answered("Payment.ListInvoices", connection.payment.listInvoices({}));
  await answered("Registry.GetRegistration", connection.registry.getRegistration({}));
  await answered("Bridge.GetBridgeStatus", connection.bridge.getBridgeStatus({}));
}

describe("every service answers", () => {
  for (const transport of ["unix", "tcp"] as const) {
    test(`over ${transport}`, async (t) => {
      const name = liveNode(t);
      if (!name) return;
      const connection = connectNode(name, { tcp: transport === "tcp" });
      try {
        await callEveryService(connection, name);
      } finally {
        connection.close();
      }
    });
  }
});

test("TCP without the token is refused", async (t) => {
  const name = liveNode(t);
  if (!name) return;
  const address = readFileSync(selectNode(name).tcpAddressFile, "utf8").trim();
  const client = createClient(NodeService, createGrpcTransport({ baseUrl: `http://${address}` }));
  await assert.rejects(client.getStatus({}), (error: unknown) => {
    assert.equal(ConnectError.from(error).code, Code.Unauthenticated);
    return true;
  });
});
