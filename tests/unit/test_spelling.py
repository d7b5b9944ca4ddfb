"""Suggestions ("did you mean …?") only for a slip of the keyboard, never for a different word."""

from __future__ import annotations

import pytest

from harness.common.spelling import closest_spelling, did_you_mean

SCENARIO_FIELDS = ["id", "title", "issue", "description", "models", "access_groups", "teams", "users", "keys", "expect"]


@pytest.mark.parametrize(
    ("word", "meant"),
    [
        ("tems", "teams"),  # a letter left out
        ("acess_groups", "access_groups"),
        ("modles", "models"),  # two letters swapped
        ("Teams", "teams"),  # case
        ("key", "keys"),
        ("descripton", "description"),
        ("acces_grups", "access_groups"),  # two slips in a long name
    ],
)
def test_a_slip_of_the_keyboard_gets_the_name_it_was_meant_as(word: str, meant: str) -> None:
    assert closest_spelling(word, SCENARIO_FIELDS) == meant


@pytest.mark.parametrize("word", ["steps", "end_users", "model_aliases", "proxy_settings", "owner", "user_teams"])
def test_a_different_word_gets_no_suggestion(word: str) -> None:
    # `end_users` merely contains `users`; `steps` shares letters with `users`: neither is a typo
    assert closest_spelling(word, SCENARIO_FIELDS) is None
    assert did_you_mean(word, SCENARIO_FIELDS) == ""


def test_names_the_scenario_declares_are_suggested_for_their_typos() -> None:
    assert did_you_mean("platfrom", ["platform", "billing"]) == " (did you mean 'platform'?)"
    assert closest_spelling("svx", ["svc", "control"]) == "svc"
    assert closest_spelling("gpt-4o-mni", ["gpt-4o", "gpt-4o-mini"]) == "gpt-4o-mini"
    assert closest_spelling("servce_account", ["team", "service_account"]) == "service_account"
    assert closest_spelling("whyy", ["check", "why", "issue"]) == "why"


def test_the_fewest_edits_win_and_ties_go_to_the_first_name() -> None:
    assert closest_spelling("gpt-4", ["gpt-4o-mini", "gpt-4o"]) == "gpt-4o"
    assert closest_spelling("tam", ["team", "tax"]) == "team"  # both one edit away


def test_a_long_word_costs_little() -> None:
    # nothing of a near length to compare: no work proportional to the word
    assert closest_spelling("x" * 1_000_000, SCENARIO_FIELDS) is None
