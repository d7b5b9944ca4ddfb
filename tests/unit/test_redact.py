"""Secrets never survive redaction; ordinary text does."""

from __future__ import annotations

import pytest

from harness.common.redact import Redactor, redact_key

MASTER = "sk-master-0123456789abcd"
GENERATED = "sk-Zx9_generated-key-WXYZ"


def test_redact_key_shows_only_last_four():
    assert redact_key("sk-1234567890abcd") == "sk-…abcd"


def test_short_secret_shows_nothing():
    assert redact_key("pw12") == "sk-…****"


def test_known_secrets_are_replaced_everywhere():
    redactor = Redactor([MASTER])
    redactor.add(GENERATED)
    text = f'{{"key": "{GENERATED}", "master": "{MASTER}"}} and again {MASTER}'
    out = redactor.redact(text)
    assert MASTER not in out and GENERATED not in out
    assert out == '{"key": "sk-…WXYZ", "master": "sk-…abcd"} and again sk-…abcd'


def test_known_secret_without_sk_prefix():
    out = Redactor(["hunter2-is-my-master"]).redact("master=hunter2-is-my-master;")
    assert out == "master=sk-…ster;"


def test_secret_containing_another_is_replaced_whole():
    short, long = "sk-abcdefgh1234", "sk-abcdefgh1234-extended-9999"
    out = Redactor([short, long]).redact(f"{long} {short}")
    assert out == "sk-…9999 sk-…1234"


def test_unknown_key_like_strings_are_caught_by_the_safety_net():
    out = Redactor().redact("Received API Key = sk-unknownKEY_123-xyz, done")
    assert out == "Received API Key = sk-…-xyz, done"


@pytest.mark.parametrize(
    "text",
    [
        "team risk-assessment-team calls task-management-service",  # 'sk-' inside words
        "sk-short",  # fewer than 8 characters after sk-
        "model gpt-4o-mini said ok",
        "LiteLLM's own abbreviation sk-...abcd stays",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert Redactor().redact(text) == text


def test_bearer_tokens():
    redactor = Redactor([MASTER])
    assert redactor.redact(f"Authorization: Bearer {MASTER}") == "Authorization: Bearer sk-…abcd"
    assert redactor.redact("authorization: bearer eyJhbGciOi.payload.sig") == "authorization: bearer ***"


def test_postgres_url_password():
    url = "postgresql://llmproxy:s3cr3t-p%40ss@127.0.0.1:5432/litellm"
    assert Redactor().redact(f"DATABASE_URL={url}") == (
        "DATABASE_URL=postgresql://llmproxy:***@127.0.0.1:5432/litellm"
    )
    assert Redactor().redact("postgres://u:p@h/db") == "postgres://u:***@h/db"
    assert Redactor().redact("http://127.0.0.1:4000/v1/models") == "http://127.0.0.1:4000/v1/models"


def test_redaction_is_idempotent_and_ignores_empty_secrets():
    redactor = Redactor(["", MASTER])
    once = redactor.redact(f"x {MASTER} y")
    assert redactor.redact(once) == once
    assert redactor.redact("") == ""
    assert redactor.secrets == frozenset({MASTER})
