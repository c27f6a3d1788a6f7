/**
 * Connects TypeScript programs to a local ecco node by its name, the way the ecco CLI does: over the node's unix
 * socket, or over loopback TCP with the bearer token from the node's state directory ($ECCO_HOME/nodes/<name>/).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";

import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

import { BridgeService } from "../gen/ecco/v1/bridge_service_pb.js";
import { ConsensusService } from "../gen/ecco/v1/consensus_service_pb.js";
import { DiscoveryService } from "../gen/ecco/v1/discovery_service_pb.js";
import { EventService } from "../gen/ecco/v1/event_service_pb.js";
import { MessagingService } from "../gen/ecco/v1/messaging_service_pb.js";
import { NodeService } from "../gen/ecco/v1/node_service_pb.js";
import { PaymentService } from "../gen/ecco/v1/payment_service_pb.js";
import { RegistryService } from "../gen/ecco/v1/registry_service_pb.js";

/**
 * The largest message the node's API sends or accepts (ecco/limits.py): above the largest event a node stores, so
 * every event can be read.
 */
export const API_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The files of one node's state directory. */
export class NodePaths {
  readonly name: string;
  readonly home: string;

  constructor(name: string, home: string) {
    this.name = name;
    this.home = home;
  }

  get dir(): string {
    return join(this.home, "nodes", this.name);
  }
  /** The gRPC unix socket (mode 0600). */
  get socket(): string {
    return join(this.dir, "api.sock");
  }
  /** Holds the bearer token every call over TCP must carry. */
  get tokenFile(): string {
    return join(this.dir, "api.token");
  }
  /** Holds "127.0.0.1:PORT" while the daemon serves the API on loopback TCP. */
  get tcpAddressFile(): string {
    return join(this.dir, "api.tcp");
  }

  /**
   * Whether a daemon holds the node's lock. The daemon keeps an exclusive flock on daemon.lock for its whole life
   * and the kernel drops it however the process dies, so a stale pid file never fools this. Node cannot take an
   * flock, so it looks the lock up in /proc/locks (Linux) by the file's inode (not its device: overlay file
   * systems report another device to stat than the one /proc/locks names).
   */
  running(): boolean {
    let inode: number;
    let table: string;
    try {
      inode = statSync(join(this.dir, "daemon.lock")).ino;
      table = readFileSync("/proc/locks", "utf8");
    } catch {
      return false;
    }
    // A line is "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF": the last part of the 08:01:5678 is the inode.
    const held = new RegExp(`^[0-9a-f]+:[0-9a-f]+:${inode}$`);
    return table.split("\n").some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields.includes("FLOCK") && fields.some((field) => held.test(field));
    });
  }
}

/** The root of all node state: $ECCO_HOME, else ~/.ecco. */
export function eccoHome(): string {
  return process.env.ECCO_HOME || join(homedir(), ".ecco");
}

/** The nodes under `home` whose daemon is running, sorted by name. */
export function runningNodes(home: string = eccoHome()): NodePaths[] {
  let names: string[];
  try {
    names = readdirSync(join(home, "nodes"));
  } catch {
    return [];
  }
  return names
    .filter((name) => NAME_PATTERN.test(name))
    .sort()
    .map((name) => new NodePaths(name, home))
    .filter((paths) => paths.running());
}

function describe(nodes: NodePaths[]): string {
  if (nodes.length === 0) return "no node is running; start one with `ecco up --name <name>`";
  return "running nodes: " + nodes.map((n) => n.name).join(", ");
}

/** Picks a node like the CLI does: the given name, then $ECCO_NODE, then the only running node. */
export function selectNode(name?: string, home: string = eccoHome()): NodePaths {
  const wanted = name || process.env.ECCO_NODE || "";
  if (wanted) {
    if (!NAME_PATTERN.test(wanted)) {
      const rule = "use 1-64 characters of letters, digits, '.', '_' or '-'";
      throw new Error(`invalid node name ${JSON.stringify(wanted)}: ${rule}`);
    }
    const paths = new NodePaths(wanted, home);
    // Every node's lock is looked up only for this message, as the Python CLI does.
    if (!paths.running()) throw new Error(`node ${JSON.stringify(wanted)} is not running; ${describe(runningNodes(home))}`);
    return paths;
  }
  const running = runningNodes(home);
  if (running.length === 1) return running[0]!;
  if (running.length === 0) throw new Error(describe(running));
  throw new Error(`several nodes are running; choose one by name or ECCO_NODE (${describe(running)})`);
}

/** How to find and reach a node. */
export interface ConnectOptions {
  /** The ECCO_HOME to look in; default $ECCO_HOME, else ~/.ecco. */
  home?: string;
  /** Connect over loopback TCP (a node started with --api-listen) with the bearer token from api.token. */
  tcp?: boolean;
}

/** A connection to one node, with a client for every service of the API. */
export interface NodeConnection {
  paths: NodePaths;
  node: Client<typeof NodeService>;
  events: Client<typeof EventService>;
  messaging: Client<typeof MessagingService>;
  discovery: Client<typeof DiscoveryService>;
  consensus: Client<typeof ConsensusService>;
  payment: Client<typeof PaymentService>;
  registry: Client<typeof RegistryService>;
  bridge: Client<typeof BridgeService>;
  /** Closes the HTTP/2 connection; calls still running fail. */
  close(): void;
}

/** Connects to the node called `name` (see selectNode for an empty name). Lazy: nothing is dialled before a call. */
export function connectNode(name?: string, options: ConnectOptions = {}): NodeConnection {
  const paths = selectNode(name, options.home);
  let baseUrl = "http://localhost";
  let sessions: Http2SessionManager;
  const interceptors: Interceptor[] = [];
  if (options.tcp) {
    if (!existsSync(paths.tcpAddressFile)) {
      const name = JSON.stringify(paths.name);
      throw new Error(`node ${name} does not serve the API on TCP; start it with --api-listen 127.0.0.1:PORT`);
    }
    const address = readFileSync(paths.tcpAddressFile, "utf8").trim();
    const token = readFileSync(paths.tokenFile, "utf8").trim();
    baseUrl = `http://${address}`;
    sessions = new Http2SessionManager(baseUrl);
    // The daemon listens on loopback only, so the token travels without TLS.
    interceptors.push((next) => (request) => {
      request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    });
  } else {
    sessions = new Http2SessionManager(baseUrl, undefined, {
      createConnection: () => netConnect(paths.socket),
    });
  }
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager: sessions,
    interceptors,
    readMaxBytes: API_MAX_MESSAGE_BYTES,
    writeMaxBytes: API_MAX_MESSAGE_BYTES,
  });
  return {
    paths,
    node: createClient(NodeService, transport),
    events: createClient(EventService, transport),
    messaging: createClient(MessagingService, transport),
    discovery: createClient(DiscoveryService, transport),
    consensus: createClient(ConsensusService, transport),
    payment: createClient(PaymentService, transport),
    registry: createClient(RegistryService, transport),
    bridge: createClient(BridgeService, transport),
    close: () => sessions.abort(),
  };
}

/**
 * The ecco error reason (proto/ecco/v1/error_reason.proto) a failed call carries in its google.rpc.ErrorInfo,
 * e.g. "PEER_NOT_FOUND"; "" when it has none.
 */
export function reasonOf(error: unknown): string {
  const connectError = ConnectError.from(error);
  for (const detail of connectError.details) {
    if ("type" in detail && detail.type === "google.rpc.ErrorInfo") {
      // ErrorInfo is { string reason = 1; string domain = 2; map<string, string> metadata = 3; }.
      const reader = new BinaryReader(detail.value);
      while (reader.pos < reader.len) {
        const [field, wireType] = reader.tag();
        if (field === 1) return reader.string();
        reader.skip(wireType);
      }
    }
  }
  return "";
}

export { Code, ConnectError };
