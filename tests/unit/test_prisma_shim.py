"""The `prisma` shim answers LiteLLM's start-up calls exactly as the real CLI did in the same
environment — without running it — and hands every other call to the real CLI.

The real CLI here is a stand-in script that answers like Prisma's does in our set-up (a failing
schema engine) and notes each time it runs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.gateways.litellm.environments import LiteLLMEnvironment
from harness.gateways.litellm.prisma_shim import PRISMA_CALLS_ENV, RECORDING_DATABASE_URL, ensure_shim

REAL_PRISMA = """#!/bin/sh
echo "$*" >> "{calls}"
if [ "$#" -eq 0 ]; then printf 'prisma <command>\\n'; printf "This command is only 'internal'\\n" >&2; exit 1; fi
if [ "$1" = migrate ] && [ "$2" = diff ]; then {diff}; fi
echo "real prisma: $*"
"""
FAILING_DIFF = 'printf "Error: Error in Schema engine: \\n" >&2; exit 1'


def environment(tmp_path: Path, diff: str = FAILING_DIFF) -> tuple[LiteLLMEnvironment, Path]:
    root = tmp_path / "env"
    (root / "bin").mkdir(parents=True)
    calls = tmp_path / "real-calls.txt"
    real = root / "bin" / "prisma"
    real.write_text(REAL_PRISMA.format(calls=calls, diff=diff))
    real.chmod(0o755)
    return LiteLLMEnvironment(root, "1.82.3", "0.11.0"), calls


def run(shim: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(shim / "prisma"), *args], cwd=cwd, env=env or {"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True)


def real_answer(env: LiteLLMEnvironment, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(env.bin_dir / "prisma"), *args], cwd=cwd, capture_output=True, text=True)


def test_start_up_calls_get_the_real_answers_without_running_the_real_cli(tmp_path: Path) -> None:
    env, calls = environment(tmp_path)
    shim = ensure_shim(env, {"PATH": "/usr/bin:/bin"})
    assert shim.replays_bare and shim.replays_diff
    recorded = calls.read_text()
    workdir = tmp_path / "run"
    workdir.mkdir()
    diff_args = ("migrate", "diff", "--from-url", "postgresql://u:secret@127.0.0.1:5/run_1",
                 "--to-schema-datamodel", "./schema.prisma", "--script")
    for args in [(), diff_args]:
        replayed = run(shim.bin_dir, *args, cwd=workdir)
        real = real_answer(env, *args, cwd=workdir)
        assert (replayed.returncode, replayed.stdout, replayed.stderr) == (real.returncode, real.stdout, real.stderr)
    # the real CLI ran only for the recording (twice) and for the comparisons above (twice)
    assert len(calls.read_text().splitlines()) == len(recorded.splitlines()) + 2 == 4
    assert ensure_shim(env, {"PATH": "/usr/bin:/bin"}) == shim  # recorded once per environment


def test_other_calls_go_to_the_real_cli_and_every_call_is_noted_without_the_database_url(tmp_path: Path) -> None:
    env, calls = environment(tmp_path)
    shim = ensure_shim(env, {"PATH": "/usr/bin:/bin"})
    noted = tmp_path / "prisma-calls.log"
    workdir = tmp_path / "run"
    workdir.mkdir()
    proxy_env = {"PATH": "/usr/bin:/bin", PRISMA_CALLS_ENV: str(noted)}
    passed = run(shim.bin_dir, "db", "push", "--accept-data-loss", cwd=workdir, env=proxy_env)
    assert passed.stdout == "real prisma: db push --accept-data-loss\n"
    run(shim.bin_dir, "migrate", "diff", "--from-url", "postgresql://u:secret@h/db", cwd=workdir, env=proxy_env)
    run(shim.bin_dir, cwd=workdir, env=proxy_env)
    assert noted.read_text().splitlines() == [
        "passed on: prisma db push", "replayed: prisma migrate diff", "replayed: prisma"]
    assert "secret" not in noted.read_text()


def test_a_diff_in_a_folder_with_a_schema_goes_to_the_real_cli(tmp_path: Path) -> None:
    env, calls = environment(tmp_path)
    shim = ensure_shim(env, {"PATH": "/usr/bin:/bin"})
    workdir = tmp_path / "with-schema"
    workdir.mkdir()
    (workdir / "schema.prisma").write_text("// a schema")
    before = len(calls.read_text().splitlines())
    run(shim.bin_dir, "migrate", "diff", "--from-url", "postgresql://h/db", cwd=workdir)
    assert len(calls.read_text().splitlines()) == before + 1


@pytest.mark.parametrize("diff", [
    'echo "ALTER TABLE x ADD COLUMN y int;"; exit 0',  # a diff that worked describes a database
    f'printf "cannot reach {RECORDING_DATABASE_URL.split("@")[1]}\\n" >&2; exit 1',  # names its argument
], ids=["successful-diff", "answer-names-its-url"])
def test_a_diff_answer_that_could_depend_on_the_database_is_never_replayed(tmp_path: Path, diff: str) -> None:
    env, calls = environment(tmp_path, diff=diff)
    shim = ensure_shim(env, {"PATH": "/usr/bin:/bin"})
    assert shim.replays_bare and not shim.replays_diff
    before = len(calls.read_text().splitlines())
    run(shim.bin_dir, "migrate", "diff", "--from-url", "postgresql://h/db", cwd=tmp_path)
    assert len(calls.read_text().splitlines()) == before + 1  # the real CLI answered


def test_the_recording_is_redone_when_the_prisma_set_up_changes(tmp_path: Path) -> None:
    env, _calls = environment(tmp_path)
    first = ensure_shim(env, {"PATH": "/usr/bin:/bin", "PRISMA_QUERY_ENGINE_BINARY": "/a"})
    second = ensure_shim(env, {"PATH": "/usr/bin:/bin", "PRISMA_QUERY_ENGINE_BINARY": "/b"})
    assert first.bin_dir != second.bin_dir
