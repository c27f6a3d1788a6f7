"""NodeService: status, stop and effective config of this daemon."""

from __future__ import annotations

import asyncio

import grpc

from ecco.api.convert import NETWORKS, capability_to_pb, timestamp_ms
from ecco.services.node import NodeRuntime
from ecco.v1 import node_service_pb2 as pb
from ecco.v1 import node_service_pb2_grpc


class NodeServicer(node_service_pb2_grpc.NodeServiceServicer):
    def __init__(self, runtime: NodeRuntime) -> None:
        self._node = runtime

    async def GetStatus(self, request: pb.GetStatusRequest, context: grpc.aio.ServicerContext) -> pb.GetStatusResponse:
        node = self._node
        return pb.GetStatusResponse(
            name=node.name,
            peer_id=node.peer_id,
            listen_addresses=node.listen_addresses(),
            api_socket=node.api_socket,
            api_tcp_address=node.api_tcp_address,
            network=NETWORKS[node.network],
            start_time=timestamp_ms(node.start_time_ms),
            pid=node.pid,
            version=node.version,
            head_cursor=node.events.head_cursor,
            connected_peers=await node.connected_peers(),
            capabilities=[capability_to_pb(c) for c in node.capabilities],
            state_dir=node.state_dir,
        )

    async def StopNode(self, request: pb.StopNodeRequest, context: grpc.aio.ServicerContext) -> pb.StopNodeResponse:
        # Stop after this reply is on its way, so the caller learns the pid to wait for.
        asyncio.get_running_loop().call_soon(self._node.request_stop)
        return pb.StopNodeResponse(pid=self._node.pid)

    async def GetConfig(self, request: pb.GetConfigRequest, context: grpc.aio.ServicerContext) -> pb.GetConfigResponse:
        return pb.GetConfigResponse(config_json=self._node.config_json, sources=self._node.config_sources)
