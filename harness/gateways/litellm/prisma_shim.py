"""A `prisma` on the proxy's PATH that answers LiteLLM's start-up calls of the Prisma CLI at once.

Before uvicorn starts, LiteLLM's CLI runs the Prisma CLI (a Python wrapper around Node: seconds
per call here, more on a loaded machine): 1.82.3 runs a bare `prisma` (is it there?) and
`prisma migrate diff --from-url <db> --to-schema-datamodel ./schema.prisma --script`; 1.108.7
only the diff. With `DISABLE_SCHEMA_UPDATE` and Prisma's schema engine replaced by a stub that
fails on everything but `--version` (`wasm_engine.py`), the diff always fails the same way, before
any database is reached, and LiteLLM goes on ("Failed to generate migration diff. Error: …").

The shim replays what the real CLI answered *in this environment* — exit code, stdout and stderr,
recorded once per environment and Prisma set-up (`record_answers`) — so the proxy gets exactly the
answer it would have got and prints exactly the same lines. It replays only answers that cannot
depend on the call's arguments or on a database:

- the bare call (no arguments at all);
- a `migrate diff` that failed, and whose answer does not mention the database URL it was given
  (a diff that succeeded would describe a database: never replayed), called in a folder without
  a `./schema.prisma` (as the proxy's working folder is: the answer was recorded in an empty one).

Every other call goes to the real CLI, unchanged. Each call the shim gets is noted (first two
arguments only, never the database URL) in the file `PRISMA_CALLS_ENV` names, when set.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from filelock import FileLock

from harness.common.log import Log, quiet
from harness.gateways.litellm.environments import LiteLLMEnvironment, read_stamp
from harness.targets.lifecycle import BUILD_RUN_PREFIX, current_owner, marker_env

#: The proxy's environment names a file here; the shim appends one line per call to it.
PRISMA_CALLS_ENV = "GATECONFORM_PRISMA_CALLS"
#: Under the environment's root, so pruning the environment removes it too.
SHIM_FOLDER = ".gateconform-prisma-shim"
#: Bump when the shim's script or the recording changes: shims of an older revision are re-made.
SHIM_REVISION = 1
#: A database URL nothing listens on: the recorded diff must fail without one.
RECORDING_DATABASE_URL = "postgresql://gateconform:recording@127.0.0.1:9/gateconform_recording"
RECORDING_TIMEOUT_S = 300.0
DIFF_ARGS = ("migrate", "diff", "--from-url", RECORDING_DATABASE_URL,
             "--to-schema-datamodel", "./schema.prisma", "--script")


@dataclass(frozen=True)
class Answer:
    """What one call of the real CLI gave."""

    exit_code: int
    stdout: str
    stderr: str

    def mentions(self, text: str) -> bool:
        return text in self.stdout or text in self.stderr


@dataclass(frozen=True)
class PrismaShim:
    """The shim of one environment: its bin folder (put first on PATH) and what it replays."""

    bin_dir: Path
    replays_bare: bool
    replays_diff: bool

    @property
    def replays_anything(self) -> bool:
        return self.replays_bare or self.replays_diff


def shim_bin_dir(environment: LiteLLMEnvironment, env: Mapping[str, str]) -> Path:
    """Where the shim of `environment` run with `env` (the proxy's environment) lives, made or not."""
    return environment.root / SHIM_FOLDER / _setup_key(environment, env) / "bin"


def ensure_shim(environment: LiteLLMEnvironment, env: Mapping[str, str], log: Log = quiet) -> PrismaShim:
    """The shim in `shim_bin_dir`, recorded on first use.

    Recording runs the real CLI twice (in parallel, seconds) under a lock, once per environment
    and Prisma set-up; later calls only read what was recorded. A shim that may replay nothing
    passes every call on to the real CLI.
    """
    folder = shim_bin_dir(environment, env).parent
    answers_file = folder / "answers.json"
    if not answers_file.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder) + ".lock", timeout=RECORDING_TIMEOUT_S * 2):
            if not answers_file.exists():
                log(f"litellm {environment.litellm_version}: recording the Prisma CLI's start-up answers "
                    "once for this environment")
                _write_shim(folder, environment, record_answers(environment, env))
    answers = json.loads(answers_file.read_text())
    return PrismaShim(folder / "bin", bool(answers["replays_bare"]), bool(answers["replays_diff"]))


def record_answers(environment: LiteLLMEnvironment, env: Mapping[str, str]) -> dict[str, Answer]:
    """Run the real CLI as LiteLLM does at start-up (bare, and the migration diff) and keep its answers.

    In an empty working folder, as the proxy's own; with a run marker, so a killed recording is reaped.
    """
    real = str(environment.bin_dir / "prisma")
    calls = {"bare": [real], "diff": [real, *DIFF_ARGS]}
    marked = dict(env)
    marked.update(marker_env(f"{BUILD_RUN_PREFIX}prisma-{secrets.token_hex(4)}", current_owner()))
    with tempfile.TemporaryDirectory(prefix="gateconform-prisma-") as cwd:
        running = {name: subprocess.Popen(argv, cwd=cwd, env=marked, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for name, argv in calls.items()}
        answers = {}
        try:
            for name, process in running.items():
                stdout, stderr = process.communicate(timeout=RECORDING_TIMEOUT_S)
                answers[name] = Answer(process.returncode, stdout, stderr)
        finally:
            for process in running.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return answers


def replayable(answers: Mapping[str, Answer]) -> tuple[bool, bool]:
    """(bare, diff): which recorded answers the shim may replay (see the module doc)."""
    diff = answers["diff"]
    url_parts = (RECORDING_DATABASE_URL, "127.0.0.1:9", "gateconform_recording")
    diff_ok = diff.exit_code != 0 and not any(diff.mentions(part) for part in url_parts)
    return True, diff_ok


def _setup_key(environment: LiteLLMEnvironment, env: Mapping[str, str]) -> str:
    """What the CLI's answers depend on: the installation (its build) and Prisma's variables and PATH."""
    stamp = read_stamp(environment.root) or {}
    relevant = {name: value for name, value in env.items() if name.startswith("PRISMA_") or name == "PATH"}
    document = {"built_at": stamp.get("built_at"), "version": environment.litellm_version, "env": relevant,
                "revision": SHIM_REVISION}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


def _write_shim(folder: Path, environment: LiteLLMEnvironment, answers: Mapping[str, Answer]) -> None:
    """Write `bin/prisma` and `answers.json` into a staging folder, then move it into place."""
    replays_bare, replays_diff = replayable(answers)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        (staging / "bin").mkdir()
        script = staging / "bin" / "prisma"
        script.write_text(_script(environment.bin_dir / "prisma", answers, replays_bare, replays_diff))
        script.chmod(0o755)
        document = {"litellm_version": environment.litellm_version, "replays_bare": replays_bare,
                    "replays_diff": replays_diff,
                    "answers": {name: answer.__dict__ for name, answer in answers.items()}}
        (staging / "answers.json").write_text(json.dumps(document, indent=2))
        shutil.rmtree(folder, ignore_errors=True)  # a half-written one from a killed recording
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _replay(answer: Answer) -> str:
    return (f"  printf '%s' {_quote(answer.stdout)}\n"
            f"  printf '%s' {_quote(answer.stderr)} >&2\n"
            f"  exit {answer.exit_code}\n")


def _script(real: Path, answers: Mapping[str, Answer], replays_bare: bool, replays_diff: bool) -> str:
    lines = [
        "#!/bin/sh",
        "# gateconform: replays the real Prisma CLI's recorded answers to LiteLLM's start-up calls",
        "# (harness/gateways/litellm/prisma_shim.py); every other call goes to the real CLI.",
        f'note() {{ [ -n "${PRISMA_CALLS_ENV}" ] && printf \'%s\\n\' "$*" >> "${PRISMA_CALLS_ENV}"; return 0; }}',
    ]
    if replays_bare:
        lines += ['if [ "$#" -eq 0 ]; then', "  note replayed: prisma", _replay(answers["bare"]).rstrip("\n"), "fi"]
    if replays_diff:  # recorded in an empty folder: with a schema.prisma here the answer would differ
        lines += ['if [ "$1" = migrate ] && [ "$2" = diff ] && [ ! -e ./schema.prisma ]; then',
                  "  note replayed: prisma migrate diff",
                  _replay(answers["diff"]).rstrip("\n"), "fi"]
    lines += ['note "passed on: prisma $1 $2"', f'exec {_quote(str(real))} "$@"', ""]
    return "\n".join(lines)
