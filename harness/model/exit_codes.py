"""The exit codes of every `gateconform` command, one set for all (README "Exit codes")."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status tells a CI job."""

    #: conform (every check passed, was skipped, or failed only where expected), or an answer
    OK = 0
    #: a definite finding: a regression (run), a failed cell (matrix), nothing to search (bisect)
    FOUND = 1
    #: the harness could not decide: an error verdict, a target that did not start, bad input,
    #: reports that could not be written — never a pass
    UNDECIDED = 2
    #: Ctrl-C; everything started was stopped first
    INTERRUPTED = 130
