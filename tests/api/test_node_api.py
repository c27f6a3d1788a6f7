"""NodeService through the real client: status, config, stop."""

from __future__ import annotations

import json

from ecco.client import NodeClient
from ecco.config import MASK
from ecco.v1 import common_pb2
from ecco.v1 import node_service_pb2 as pb


def test_get_status_reports_the_node(node, client: NodeClient) -> None:
    node.append("ping")
    node.append("pong")
    status = client.call(client.stub("NodeService").GetStatus, pb.GetStatusRequest())
    assert status.name == "api-node"
    assert status.peer_id == node.runtime.peer_id
    assert status.head_cursor == node.log.head_cursor == 2
    assert status.api_socket == str(node.socket_path)
    assert status.api_tcp_address == ""
    assert status.network == common_pb2.NETWORK_TESTNET
    assert status.pid == node.runtime.pid
    assert status.version == "9.9.9-test"
    assert status.state_dir == str(node.state_dir)
    assert status.connected_peers == 2
    assert list(status.listen_addresses) == [f"/ip4/127.0.0.1/tcp/4001/p2p/{node.runtime.peer_id}"]
    start_ms = status.start_time.seconds * 1000 + status.start_time.nanos // 1_000_000
    assert start_ms == node.runtime.start_time_ms
    [cap] = status.capabilities
    assert (cap.type, cap.name, cap.version) == ("agent", "code-review", "1.2.3")
    assert list(cap.metadata["features"]) == ["python"]


def test_head_cursor_follows_new_events(node, client: NodeClient) -> None:
    stub = client.stub("NodeService")
    assert client.call(stub.GetStatus, pb.GetStatusRequest()).head_cursor == 0
    record = node.append("peer-connected", {"peerId": "x"})
    assert client.call(stub.GetStatus, pb.GetStatusRequest()).head_cursor == record.cursor


def test_get_config_is_masked_json_with_sources(node, client: NodeClient) -> None:
    reply = client.call(client.stub("NodeService").GetConfig, pb.GetConfigRequest())
    config = json.loads(reply.config_json)
    assert config["db_url"] == MASK
    assert node.config.db_url not in reply.config_json
    assert config["name"] == "api-node"
    assert config["network"] == "testnet"
    assert dict(reply.sources) == dict(node.config.sources)
    assert reply.sources["db_url"] == "flag"
    assert reply.sources["network"] == "default"


def test_stop_node_returns_pid_and_requests_stop(node, client: NodeClient) -> None:
    assert not node.stop_requested.is_set()
    reply = client.call(client.stub("NodeService").StopNode, pb.StopNodeRequest())
    assert reply.pid == node.runtime.pid
    assert node.stop_requested.wait(5), "StopNode did not call request_stop"
