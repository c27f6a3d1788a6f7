"""Signed consensus receipts: they verify offline, and any change to the receipt or a response is caught."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import replace

import pytest

from ecco.services.consensus.aggregation import AgentAnswer, AgentStatus
from ecco.services.consensus.receipt import sha256_hex, sign_receipt, verify_receipt
from ecco.services.envelope import canonical_json, new_message, sign_message
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier

QUERIER = Ed25519Signer(os.urandom(32))
AGENTS = [Ed25519Signer(os.urandom(32)) for _ in range(2)]
VERIFIER = Ed25519Verifier()


def _answer(agent: Ed25519Signer, text: str) -> AgentAnswer:
    payload = {"requestId": f"r-{agent.peer_id}", "response": {"text": text, "finishReason": "stop"}}
    message = sign_message(new_message(agent.peer_id, QUERIER.peer_id, "agent-response", payload), agent)
    return AgentAnswer(agent.peer_id, AgentStatus.SUCCEEDED, text, "", 5, 0.9, payload["requestId"], message)


ANSWERS = [_answer(AGENTS[0], "Paris"), _answer(AGENTS[1], "Paris")]
MESSAGES = [a.message for a in ANSWERS if a.message]


def _receipt() -> dict[str, object]:
    return sign_receipt(
        QUERIER,
        consensus_id="c-1",
        prompt="Capital of France?",
        parameters={"aggregation": "majority-vote", "selection": "all", "minAgents": 1},
        answers=ANSWERS,
        result_text="Paris",
        confidence=1.0,
        achieved=True,
        agreement=2,
        created_ms=1_700_000_000_000,
    )


def test_a_receipt_commits_to_prompt_responses_and_result() -> None:
    receipt = _receipt()
    assert receipt["promptHash"] == sha256_hex("Capital of France?")
    assert receipt["resultHash"] == sha256_hex("Paris")
    assert receipt["signerPeerId"] == QUERIER.peer_id
    entry = receipt["entries"][0]  # type: ignore[index]
    assert entry["messageId"] == MESSAGES[0].id and entry["signature"] == MESSAGES[0].signature
    assert entry["responseHash"] == sha256_hex(canonical_json(MESSAGES[0].payload))
    report = verify_receipt(json.dumps(receipt), MESSAGES, VERIFIER)
    assert (report.verified, report.problems, report.responses_verified) == (True, [], 2)
    assert (report.consensus_id, report.signer_peer_id) == ("c-1", QUERIER.peer_id)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("confidence",), 0.2, "receipt signature does not verify"),
        (("result",), "Lyon", "resultHash does not match"),
        (("entries", 0, "responseHash"), "00" * 32, "entry 0: response hash mismatch"),
        (("signerPeerId",), AGENTS[0].peer_id, "does not belong to signerPeerId"),
        (("signature",), "not base64!", "not base64"),
    ],
)
def test_a_tampered_receipt_fails(path: tuple[object, ...], value: object, problem: str) -> None:
    receipt = copy.deepcopy(_receipt())
    target: object = receipt
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    report = verify_receipt(json.dumps(receipt), MESSAGES, VERIFIER)
    assert not report.verified
    assert any(problem in p for p in report.problems), report.problems


def test_a_tampered_or_missing_response_fails() -> None:
    receipt = json.dumps(_receipt())
    forged = replace(MESSAGES[1], payload={"requestId": "x", "response": {"text": "Berlin"}})
    report = verify_receipt(receipt, [MESSAGES[0], forged], VERIFIER)
    assert report.problems == [
        "entry 1: message signature rejected: the signature does not verify",
        "entry 1: response hash mismatch",
    ]
    assert report.responses_verified == 1
    missing = verify_receipt(receipt, MESSAGES[:1], VERIFIER)
    assert missing.problems == [f"entry 1: the signed response message {MESSAGES[1].id} was not given"]
    re_signed = sign_message(replace(forged, signature=None, public_key=None, from_=AGENTS[0].peer_id), AGENTS[0])
    impostor = verify_receipt(receipt, [MESSAGES[0], re_signed], VERIFIER)
    assert f"entry 1: the message was sent by {AGENTS[0].peer_id}, not {AGENTS[1].peer_id}" in impostor.problems


def test_garbage_is_a_problem_not_an_exception() -> None:
    assert verify_receipt("{", [], VERIFIER).problems == ["the receipt is not valid JSON"]
    assert verify_receipt("[]", [], VERIFIER).problems == ["the receipt must be a JSON object"]
    report = verify_receipt(json.dumps({"version": 1, "entries": [7]}), [], VERIFIER)
    assert not report.verified and "entry 0: malformed" in report.problems
