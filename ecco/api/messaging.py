"""MessagingService: msg, request (unary and streaming), send, peers and connect over the node's messenger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ecco.api.convert import capability_to_pb, match_to_pb, offset_page, query_from_pb, timestamp_ms
from ecco.errors import InvalidArgument, Reason, Unimplemented
from ecco.parsing import QUERY_DEADLINE_MS
from ecco.services.discovery import Discovery
from ecco.services.envelope import ABSENT, Message, canonical_json, parse_json
from ecco.services.messaging import Chunk, Complete, Messenger, Reply, Sent, validate_timeout
from ecco.v1 import common_pb2, messaging_service_pb2_grpc
from ecco.v1 import messaging_service_pb2 as pb

CONNECT_TIMEOUT_MS = 10_000
MAX_ASK_ATTEMPTS = 10
ASK_OUTCOMES = {
    "answered": pb.ASK_CANDIDATE_OUTCOME_ANSWERED,
    "failed": pb.ASK_CANDIDATE_OUTCOME_FAILED,
    "timed-out": pb.ASK_CANDIDATE_OUTCOME_TIMED_OUT,
    "unreachable": pb.ASK_CANDIDATE_OUTCOME_UNREACHABLE,
    "cancelled": pb.ASK_CANDIDATE_OUTCOME_CANCELLED,
}


def message_to_pb(message: Message) -> common_pb2.Message:
    return common_pb2.Message(
        id=message.id,
        from_peer_id=message.from_,
        to_peer_id=message.to,
        type=message.type,
        payload_json="null" if message.payload is ABSENT else canonical_json(message.payload),
        timestamp_ms=int(message.timestamp),
        signature=message.signature or "",
        public_key=message.public_key or "",
    )


def reply_to_pb(reply: Reply) -> pb.AgentReply:
    return pb.AgentReply(
        peer_id=reply.peer_id,
        request_message_id=reply.request_message_id,
        text=reply.text,
        finish_reason=reply.finish_reason,
        error=reply.error,
        latency_ms=reply.latency_ms,
        chunk_count=reply.chunk_count,
        message=message_to_pb(reply.message),
    )


def _payload(payload_json: str) -> object:
    try:
        return parse_json(payload_json or "{}")
    except (ValueError, RecursionError):
        raise InvalidArgument("payload is not valid JSON", Reason.INVALID_PAYLOAD, field="payload_json") from None


class MessagingServicer(messaging_service_pb2_grpc.MessagingServiceServicer):
    def __init__(self, messenger: Messenger, discovery: Discovery | None = None) -> None:
        self._messenger = messenger
        self._discovery = discovery

    async def SendPrompt(
        self, request: pb.SendPromptRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendPromptResponse:
        message = await self._messenger.send(
            request.peer_id, "agent-request", {"prompt": request.prompt}, message_id=request.request_id
        )
        return pb.SendPromptResponse(message=message_to_pb(message))

    async def Prompt(self, request: pb.PromptRequest, context: grpc.aio.ServicerContext) -> pb.PromptResponse:
        reply = await self._messenger.prompt(
            request.peer_id, request.prompt, validate_timeout(request.timeout_ms), message_id=request.request_id
        )
        return pb.PromptResponse(reply=reply_to_pb(reply))

    async def StreamPrompt(
        self, request: pb.StreamPromptRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamPromptResponse]:
        timeout_s = validate_timeout(request.timeout_ms)
        stream = self._messenger.request(request.peer_id, request.prompt, timeout_s, message_id=request.request_id)
        async for item in stream:
            if isinstance(item, Sent):
                yield pb.StreamPromptResponse(sent=pb.PromptSent(message=message_to_pb(item.message)))
            elif isinstance(item, Chunk):
                chunk = pb.StreamChunk(text=item.text, index=item.index, message=message_to_pb(item.message))
                yield pb.StreamPromptResponse(chunk=chunk)
            elif isinstance(item, Complete):
                complete = pb.StreamComplete(
                    text=item.text, chunk_count=item.chunk_count, message=message_to_pb(item.message)
                )
                yield pb.StreamPromptResponse(complete=complete)
            else:
                yield pb.StreamPromptResponse(reply=reply_to_pb(item))

    async def SendMessage(
        self, request: pb.SendMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendMessageResponse:
        message = await self._messenger.send(
            request.peer_id, request.type, _payload(request.payload_json), message_id=request.request_id
        )
        return pb.SendMessageResponse(message=message_to_pb(message))

    async def Ask(self, request: pb.AskRequest, context: grpc.aio.ServicerContext) -> pb.AskResponse:
        if self._discovery is None:
            raise Unimplemented(
                "MessagingService.Ask needs discovery, which is not running on this node",
                Reason.FEATURE_NOT_IMPLEMENTED,
            )
        if not request.prompt:
            raise InvalidArgument("prompt must not be empty", Reason.INVALID_ARGUMENT, field="prompt")
        if not 0 <= request.max_attempts <= MAX_ASK_ATTEMPTS:
            raise InvalidArgument(
                f"max_attempts must be between 0 and {MAX_ASK_ATTEMPTS}", Reason.INVALID_ARGUMENT, field="max_attempts"
            )
        timeout_s = validate_timeout(request.timeout_ms) if request.timeout_ms else QUERY_DEADLINE_MS / 1000
        result = await self._discovery.ask(
            query_from_pb(request.query), request.prompt, timeout_s, request.max_attempts, request.hedge
        )
        return pb.AskResponse(
            reply=reply_to_pb(result.reply),
            candidates=[
                pb.AskCandidate(
                    match=match_to_pb(a.match),
                    outcome=ASK_OUTCOMES[a.outcome],
                    error=a.error,
                    elapsed_ms=a.elapsed_ms,
                    budget_ms=a.budget_ms,
                )
                for a in result.attempts
            ],
            match_count=result.match_count,
        )

    async def ListPeers(self, request: pb.ListPeersRequest, context: grpc.aio.ServicerContext) -> pb.ListPeersResponse:
        rows = await self._messenger.peers()
        peers = []
        for known, live in rows:
            if request.connected_only and live is None:
                continue
            info = common_pb2.PeerInfo(
                peer_id=known.peer_id,
                addresses=self._dialable(known.peer_id, [*known.addresses, *(live.listen_addrs if live else ())]),
                connected=live is not None,
                capabilities=[capability_to_pb(c) for c in self._capabilities_of(known.peer_id)],
                latency_ms=(live.latency_ms or 0.0) if live else 0.0,
            )
            if known.last_seen_ms:
                info.last_seen_time.CopyFrom(timestamp_ms(known.last_seen_ms))
            peers.append(info)
        page, next_token = offset_page(peers, request.page_token, request.page_size)
        return pb.ListPeersResponse(
            peers=page,
            next_page_token=next_token,
            total_size=len(peers),
            connected_count=sum(1 for _, live in rows if live is not None),
        )

    def _dialable(self, peer_id: str, dialled: list[str]) -> list[str]:
        """Where the peer listens: the addresses we dialled it at, identify's, and those of its signed announcement.
        Never the remote end of an inbound connection, a temporary source port where nothing listens."""
        announced = self._discovery.addresses_of(peer_id) if self._discovery else ()
        return list(dict.fromkeys([*dialled, *announced]))

    def _capabilities_of(self, peer_id: str) -> tuple:  # type: ignore[type-arg]
        return self._discovery.capabilities_of(peer_id) if self._discovery else ()

    async def ConnectPeer(
        self, request: pb.ConnectPeerRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConnectPeerResponse:
        timeout_s = validate_timeout(request.timeout_ms) if request.timeout_ms else CONNECT_TIMEOUT_MS / 1000
        peer_id, already = await self._messenger.connect(request.multiaddr, timeout_s)
        return pb.ConnectPeerResponse(
            peer=common_pb2.PeerInfo(peer_id=peer_id, addresses=[request.multiaddr], connected=True),
            already_connected=already,
        )
