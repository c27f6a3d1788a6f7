"""The bridge's pure rules: settings validation, filter, routing, body, reply recipe, retry classification."""

from __future__ import annotations

import json
import random
import shlex

import pytest

from ecco.errors import InvalidArgument, Reason
from ecco.services.bridge.payload import hook_body, hook_headers, reply_command
from ecco.services.bridge.rules import (
    AttemptResult,
    BridgeSettings,
    RetryPolicy,
    Verdict,
    classify,
    describe,
    forwards,
    route,
)
from ecco.services.ports import Direction, EventRecord

PEER = "12D3KooWSenderSenderSenderSenderSenderSender1"
ME = "12D3KooWMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMe11"


def event(type_: str = "agent-request", direction: Direction = Direction.INBOUND, **kw: object) -> EventRecord:
    fields: dict[str, object] = {
        "cursor": 7,
        "id": "0b7c3f52-6a55-4d5e-9f00-3f3c1c0de001",
        "type": type_,
        "direction": direction,
        "peer_id": PEER,
        "message_id": "msg-1",
        "request_id": "msg-1" if type_ == "agent-request" else "",
        "payload_json": json.dumps({"prompt": "Review this code, it's 'quoted'"}),
        "created_at_ms": 1_700_000_000_123,
    }
    fields.update(kw)
    return EventRecord(**fields)  # type: ignore[arg-type]


def settings(**kw: object) -> BridgeSettings:
    return BridgeSettings.create(port=int(kw.pop("port", 18789)), token=str(kw.pop("token", "tok")), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"port": 0}, "--openclaw-port"),
        ({"port": 70000}, "--openclaw-port"),
        ({"token": ""}, "--token"),
        ({"token": "has space"}, "--token"),
        ({"hook_path": "hooks/ecco"}, "--hook-path"),
        ({"hook_path": "/"}, "--hook-path"),
        ({"hook_path": "/hooks/ecco?token=x"}, "--hook-path"),
        ({"provider_hook_path": ""}, "--provider-hook-path"),
        ({"host": "http://x"}, "--openclaw-host"),
        ({"filter": ["bridge-delivery-failed"]}, "--filter"),
    ],
)
def test_bad_settings_name_the_flag(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        settings(**kwargs)
    assert info.value.field == field
    assert info.value.reason == Reason.BRIDGE_CONFIG_INVALID
    assert "has space" not in info.value.message  # the token is never echoed


def test_unknown_filter_type_is_refused() -> None:
    with pytest.raises(InvalidArgument) as info:
        settings(filter=["agent-requets"])
    assert (info.value.field, info.value.reason) == ("--filter", Reason.UNKNOWN_EVENT_TYPE)


def test_embedded_flags_are_named_with_their_prefix() -> None:
    with pytest.raises(InvalidArgument) as info:
        BridgeSettings.create(port=1, token="t", hook_path="x", flag_prefix="--webhook-")
    assert info.value.field == "--webhook-hook-path"


def test_settings_repr_hides_the_token() -> None:
    assert "s3cret" not in repr(settings(token="s3cret"))
    assert settings(host="::1").base_url == "http://[::1]:18789"


def test_default_filter_is_every_inbound_message() -> None:
    none: frozenset[str] = frozenset()
    assert forwards(event("agent-request"), none)
    assert forwards(event("stream-chunk"), none)
    assert not forwards(event("agent-request", Direction.OUTBOUND), none)
    assert not forwards(event("node-started", Direction.LOCAL), none)


def test_explicit_filter_selects_types_but_never_our_own_outbound_messages() -> None:
    wanted = frozenset({"agent-response", "payment-settled"})
    assert forwards(event("agent-response"), wanted)
    assert forwards(event("payment-settled", Direction.LOCAL), wanted)
    assert not forwards(event("agent-request"), wanted)
    assert not forwards(event("agent-response", Direction.OUTBOUND), wanted)


def test_inbound_agent_requests_go_to_the_provider_path() -> None:
    s = settings(hook_path="/hooks/a", provider_hook_path="/hooks/p")
    assert route(event("agent-request"), s) == "/hooks/p"
    assert route(event("agent-response"), s) == "/hooks/a"
    assert route(event("stream-chunk"), s) == "/hooks/a"


def test_body_carries_the_event_and_a_reply_recipe_that_parses() -> None:
    body = hook_body(event(), ME, "alice")
    assert body["type"] == "agent-request"
    assert body["requestId"] == body["messageId"] == "msg-1"
    assert (body["from"], body["to"]) == (PEER, ME)
    assert body["payload"] == {"prompt": "Review this code, it's 'quoted'"}
    assert body["timestamp"] == "2023-11-14T22:13:20.123Z"
    assert body["eventId"] == event().id
    assert body["deliver"] is False and body["name"] == "ecco agent-request"
    assert "Review this code, it's 'quoted'" in body["message"]
    assert body["replyCommand"] in body["message"]
    argv = shlex.split(body["replyCommand"])
    assert argv[:6] == ["ecco", "send", "--node", "alice", PEER, "--type"]
    assert argv[6:8] == ["agent-response", "--payload"]
    assert json.loads(argv[8]) == {"requestId": "msg-1", "response": {"text": "<your answer>", "finishReason": "stop"}}


def test_reply_command_quotes_any_answer_for_the_shell() -> None:
    argv = shlex.split(reply_command(PEER, "r-1", answer="it's $HOME; `rm`"))
    assert json.loads(argv[-1])["response"]["text"] == "it's $HOME; `rm`"


def test_other_events_tell_how_to_message_the_peer() -> None:
    body = hook_body(event("agent-response", request_id="r-9", payload_json='{"requestId":"r-9"}'), ME)
    assert "ecco agent-response from" in body["message"] and "(request r-9)" in body["message"]
    assert f"ecco send {PEER}" in body["message"]


@pytest.mark.parametrize(
    "response",
    [
        {"text": "Paris", "finishReason": "stop"},
        {"requestId": "r-9", "response": {"text": "Paris", "finishReason": "stop"}},  # upstream's built-in responder
    ],
    ids=["single-wrapped", "double-wrapped"],
)
def test_a_reply_reaches_the_agent_as_its_text_in_either_shape(response: dict) -> None:
    payload_json = json.dumps({"requestId": "r-9", "response": response})
    body = hook_body(event("agent-response", request_id="r-9", payload_json=payload_json), ME)
    assert body["reply"] == {"text": "Paris", "finishReason": "stop", "error": ""}
    assert "(request r-9):\nParis\n(finishReason: stop)" in body["message"]
    assert body["payload"] == json.loads(payload_json)  # the payload itself is forwarded as received


def test_headers_use_bearer_auth_and_the_event_id_as_idempotency_key() -> None:
    headers = hook_headers(event(), "tok")
    assert headers["Authorization"] == "Bearer tok"
    assert headers["Idempotency-Key"] == event().id


@pytest.mark.parametrize(
    ("status", "attempts", "verdict"),
    [
        (200, 1, Verdict.DELIVERED),
        (202, 1, Verdict.DELIVERED),
        (400, 1, Verdict.DEAD),
        (401, 1, Verdict.DEAD),
        (404, 1, Verdict.DEAD),
        (413, 1, Verdict.DEAD),
        (408, 1, Verdict.RETRY),
        (429, 1, Verdict.RETRY),
        (500, 1, Verdict.RETRY),
        (503, 2, Verdict.RETRY),
        (503, 3, Verdict.DEAD),
        (429, 3, Verdict.DEAD),
        (0, 3, Verdict.RETRY),  # no answer: the gateway is down, the event is not at fault
        (0, 1000, Verdict.RETRY),
    ],
)
def test_classification(status: int, attempts: int, verdict: Verdict) -> None:
    assert classify(AttemptResult(status), attempts, max_attempts=3) is verdict


def test_zero_max_attempts_retries_5xx_forever() -> None:
    assert classify(AttemptResult(500), 10_000, max_attempts=0) is Verdict.RETRY


def test_describe_names_the_status_and_path() -> None:
    assert describe(AttemptResult(401, "Unauthorized"), "/hooks/ecco") == "HTTP 401 from /hooks/ecco: Unauthorized"
    assert describe(AttemptResult(0, "connection failed"), "/h").startswith("no answer from /h")


def test_backoff_is_jittered_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=8.0)
    rng = random.Random(7)
    delays = [policy.delay(n, rng=rng) for n in range(1, 20)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 10  # jitter
    assert max(policy.delay(1, rng=rng) for _ in range(50)) <= 1.0
    assert policy.delay(1, retry_after_s=5.0, rng=rng) >= 5.0


def test_ai_sdk_prompts_reach_the_agent_as_text() -> None:
    prompt = [{"role": "user", "content": [{"type": "text", "text": "Summarise the diff"}]}]
    body = hook_body(event(payload_json=json.dumps({"prompt": prompt})), ME)
    assert "Request:\nSummarise the diff\n" in body["message"]


def test_embedded_bridge_config_from_toml_env_and_flags(tmp_path) -> None:
    from ecco.config import load_config

    toml = tmp_path / "node.toml"
    toml.write_text(
        'name = "alice"\n[webhook]\nenabled = true\nopenclaw_port = 18789\nfilter = ["agent-request", "stream-chunk"]\n'
    )
    config = load_config(
        toml, {"ECCO_WEBHOOK_TOKEN": "s3cret", "ECCO_WEBHOOK_VERBOSE": "yes"}, {"webhook.hook_path": "/hooks/x"}
    )
    bridge = config.webhook
    assert bridge is not None and bridge.port == 18789 and bridge.token == "s3cret"
    assert bridge.filter == {"agent-request", "stream-chunk"} and bridge.hook_path == "/hooks/x"
    assert config.webhook_verbose and config.sources["webhook.token"] == "env"
    assert "s3cret" not in config.to_json() and config.masked()["webhook.token"] == "***"
    assert load_config(None, {}, {"name": "bob"}).webhook is None


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        ({"webhook.enabled": True, "webhook.token": "t"}, "--webhook-openclaw-port"),
        ({"webhook.enabled": True, "webhook.openclaw_port": 1}, "--webhook-token"),
        (
            {"webhook.enabled": True, "webhook.openclaw_port": 1, "webhook.token": "t", "webhook.filter": "nope"},
            "--webhook-filter",
        ),
    ],
)
def test_embedded_bridge_config_errors_name_the_up_flag(flags: dict[str, object], field: str) -> None:
    from ecco.config import load_config

    with pytest.raises(InvalidArgument) as info:
        _ = load_config(None, {}, {"name": "alice", **flags}).webhook
    assert info.value.field == field


def test_bad_webhook_port_in_the_environment_is_a_config_error() -> None:
    from ecco.config import load_config

    with pytest.raises(InvalidArgument) as info:
        load_config(None, {"ECCO_WEBHOOK_OPENCLAW_PORT": "99999"}, {"name": "alice"})
    assert info.value.reason == Reason.CONFIG_INVALID and "ECCO_WEBHOOK_OPENCLAW_PORT" in info.value.message
