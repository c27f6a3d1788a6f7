"""The domain error reasons mirror the API's ErrorReason enum exactly."""

from __future__ import annotations

import pytest

from ecco import errors
from ecco.v1 import error_reason_pb2

PREFIX = "ERROR_REASON_"


def proto_reason_names() -> set[str]:
    names = error_reason_pb2.ErrorReason.keys()
    assert all(name.startswith(PREFIX) for name in names)
    return {name.removeprefix(PREFIX) for name in names} - {"UNSPECIFIED"}


def test_reason_enum_equals_proto_error_reasons() -> None:
    python = {reason.name for reason in errors.Reason}
    proto = proto_reason_names()
    assert python - proto == set(), "reasons missing from error_reason.proto"
    assert proto - python == set(), "reasons missing from ecco.errors.Reason"


def test_reason_values_are_their_names() -> None:
    # The value travels as ErrorInfo.reason, so it must be the bare name.
    assert all(reason.value == reason.name for reason in errors.Reason)


@pytest.mark.parametrize("cls", list(errors.ERROR_CLASSES.values()))
def test_every_error_class_code_is_a_grpc_status_name(cls: type[errors.EccoError]) -> None:
    import grpc

    assert cls.code in grpc.StatusCode.__members__
    assert errors.ERROR_CLASSES[cls.code] is cls


def test_error_message_is_its_str_and_fields_are_kept() -> None:
    error = errors.InvalidArgument("cursor must be positive", errors.Reason.INVALID_CURSOR, field="cursor")
    assert str(error) == "cursor must be positive"
    assert error.reason == errors.Reason.INVALID_CURSOR
    assert error.field == "cursor"
    assert error.code == "INVALID_ARGUMENT"
    with pytest.raises(errors.EccoError):
        raise error
