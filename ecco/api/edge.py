"""The one place where errors become gRPC statuses, and where TCP calls are authenticated.

Domain errors map to their status code with a `google.rpc.ErrorInfo` (reason, domain "ecco.v1") and, when a
field is at fault, a `google.rpc.BadRequest`. Anything else is logged with its traceback and reported as
INTERNAL "internal error": exception text never reaches a client.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from ecco.errors import EccoError, Internal, Reason, Unauthenticated

log = logging.getLogger("ecco.api")

ERROR_DOMAIN = "ecco.v1"
STATUS_DETAILS_KEY = "grpc-status-details-bin"
# Health checks carry no secret and must work for probes that hold no token.
UNAUTHENTICATED_PREFIXES = ("/grpc.health.v1.Health/",)


def status_for(error: EccoError) -> tuple[grpc.StatusCode, str, bytes]:
    """The status code, message and serialized google.rpc.Status for a domain error."""
    code = getattr(grpc.StatusCode, error.code, grpc.StatusCode.INTERNAL)
    status = status_pb2.Status(code=code.value[0], message=error.message)
    info = error_details_pb2.ErrorInfo(reason=str(error.reason), domain=ERROR_DOMAIN, metadata=error.metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    status.details.append(packed)
    if error.field:
        violation = error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.message)
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        status.details.append(packed)
    return code, error.message, status.SerializeToString()


async def _abort(context: grpc.aio.ServicerContext, error: EccoError) -> None:
    code, message, details = status_for(error)
    await context.abort(code, message, trailing_metadata=((STATUS_DETAILS_KEY, details),))


def _as_ecco_error(exc: Exception, method: str) -> EccoError:
    if isinstance(exc, EccoError):
        return exc
    log.error("unhandled error in %s", method, exc_info=exc)
    return Internal("internal error", Reason.INTERNAL)


class EdgeInterceptor(grpc.aio.ServerInterceptor):
    """Maps errors for every RPC; with a token, also requires `authorization: Bearer <token>`."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token.encode() if token else None

    def _authenticate(self, context: grpc.aio.ServicerContext, method: str) -> None:
        if self._token is None or method.startswith(UNAUTHENTICATED_PREFIXES):
            return
        header = dict(context.invocation_metadata() or ()).get("authorization", "")
        scheme, _, presented = str(header).partition(" ")
        if not header:
            raise Unauthenticated(
                "this API listener requires `authorization: Bearer <token>` (see api.token)",
                Reason.TOKEN_MISSING,
            )
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), self._token):
            raise Unauthenticated("the bearer token does not match this node's api.token", Reason.TOKEN_INVALID)

    def _wrap_unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Awaitable[Any]]:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                self._authenticate(context, method)
                return await behavior(request, context)
            except (grpc.aio.AbortError, asyncio.CancelledError):
                raise
            except Exception as exc:
                await _abort(context, _as_ecco_error(exc, method))

        return unary

    def _wrap_stream(self, behavior: Callable[..., AsyncIterator[Any]], method: str) -> Callable[..., Any]:
        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                self._authenticate(context, method)
                result = behavior(request, context)
                if inspect.isasyncgen(result):
                    async for item in result:
                        yield item
                else:  # a handler that writes through context.write (e.g. grpc health Watch)
                    await result
            except (grpc.aio.AbortError, asyncio.CancelledError):
                raise
            except Exception as exc:
                await _abort(context, _as_ecco_error(exc, method))

        return stream

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        serializers = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(self._wrap_unary(handler.unary_unary, method), **serializers)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(self._wrap_stream(handler.unary_stream, method), **serializers)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(self._wrap_unary(handler.stream_unary, method), **serializers)
        return grpc.stream_stream_rpc_method_handler(self._wrap_stream(handler.stream_stream, method), **serializers)
