"""The Python client of a node's gRPC API, used by the CLI (and the webhook bridge).

It finds the node (see ecco.home.select_node), connects over the unix socket or loopback TCP with the bearer
token, and turns every failed call back into the EccoError the daemon raised, by its ErrorInfo reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from ecco.errors import ERROR_CLASSES, EccoError, Internal, Reason, Unavailable
from ecco.home import NodePaths, select_node
from ecco.limits import GRPC_MESSAGE_OPTIONS

Response = TypeVar("Response")
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def error_from_rpc(error: grpc.RpcError, target: str) -> EccoError:
    """Rebuild the domain error from a failed call's status and ErrorInfo."""
    from google.rpc import error_details_pb2, status_pb2

    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = (error.details() if hasattr(error, "details") else None) or str(code)
    reason, field = None, None
    for key, value in (error.trailing_metadata() or ()) if hasattr(error, "trailing_metadata") else ():
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    reason = info.reason
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(bad) and bad.field_violations:
                    field = bad.field_violations[0].field
    if reason is None:
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
            return Unavailable(f"cannot reach the node at {target}: {message}", Reason.NODE_NOT_RUNNING)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return ERROR_CLASSES["DEADLINE_EXCEEDED"](
                f"the node did not answer in time ({target})", Reason.REQUEST_TIMEOUT
            )
    cls = ERROR_CLASSES.get(code.name, Internal)
    try:
        known_reason = Reason(reason) if reason else Reason.INTERNAL
    except ValueError:
        known_reason = Reason.INTERNAL
    return cls(message, known_reason, field=field)


class NodeClient:
    """A blocking client; stubs are created lazily so a command imports only the services it calls."""

    def __init__(self, target: str, token: str | None = None, paths: NodePaths | None = None) -> None:
        self.target = target
        self.paths = paths
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self.channel = grpc.insecure_channel(target, options=[("grpc.enable_retries", 0), *GRPC_MESSAGE_OPTIONS])
        self._stubs: dict[str, Any] = {}

    @classmethod
    def for_node(cls, name: str | None = None) -> NodeClient:
        paths = select_node(name)
        return cls(f"unix:{paths.socket}", paths=paths)

    @classmethod
    def for_paths(cls, paths: NodePaths) -> NodeClient:
        return cls(f"unix:{paths.socket}", paths=paths)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stub(self, service: str) -> Any:
        """The stub of an ecco.v1 service, e.g. stub("NodeService")."""
        if service not in self._stubs:
            import importlib
            import re

            module_name = re.sub(r"(?<!^)(?=[A-Z])", "_", service).lower()
            module = importlib.import_module(f"ecco.v1.{module_name}_pb2_grpc")
            self._stubs[service] = getattr(module, f"{service}Stub")(self.channel)
        return self._stubs[service]

    def call(self, method: Callable[..., Response], request: Any, timeout: float | None = 10.0) -> Response:
        try:
            return method(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.target) from None

    def stream(self, method: Callable[..., Any], request: Any, timeout: float | None = None) -> Iterator[Any]:
        """Iterate a server-streaming call; cancelling the iterator (e.g. on Ctrl-C) cancels the call."""
        call = method(request, timeout=timeout, metadata=self._metadata)
        try:
            yield from call
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.target) from None
        finally:
            call.cancel()
