"""Does an environment's proxy import? The test a dating of a release's dependencies must pass.

A release's unpinned dependencies can move on before the release is even uploaded (FastAPI dropped
a helper 1.95.0 imports days before 1.95.0 came out): an environment that installs may still not
start. Importing the proxy module, as `litellm --config …` does first, tells in seconds.
"""

from __future__ import annotations

import os
import re
import subprocess

from harness.common.log import Log
from harness.gateways.litellm.environments import LiteLLMEnvironment
from harness.targets.errors import EnvironmentBuildError
from harness.targets.tool_runs import timed_step

#: Importing the proxy the way `litellm --config …` does, without starting it.
_IMPORT_CHECK = "import litellm.proxy.proxy_server"


def check_proxy_imports(environment: LiteLLMEnvironment, log: Log) -> None:
    """Raise `EnvironmentBuildError` with the import error when the environment's proxy does not import."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # else it is fetched from the internet at import
    with timed_step(log, f"litellm {environment.litellm_version}: checking that the proxy imports"):
        proc = subprocess.run([str(environment.python), "-c", _IMPORT_CHECK], capture_output=True, text=True,
                              timeout=600, env=env, cwd=environment.root)
    if proc.returncode != 0:
        raise EnvironmentBuildError(f"the proxy does not import: {proc.stderr.strip()[-2000:]}")


def short_build_failure(error: str) -> str:
    """The telling line of a build failure: the last `…Error:` line, else the first line."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception")) and " " not in head:
            return line
    return lines[0] if lines else error


#: Top-level modules of the release's own packages (litellm's repository also ships its enterprise
#: code as a top-level `enterprise` package): no dating of the dependencies changes what they hold.
RELEASE_OWN_MODULES = frozenset({"litellm", "litellm_proxy", "litellm_proxy_extras", "litellm_enterprise",
                                 "enterprise"})

_MODULE_NAMED = (
    re.compile(r"No module named '([\w.]+)'"),
    re.compile(r"cannot import name '\w+' from '([\w.]+)'"),
    re.compile(r"module '([\w.]+)' has no attribute"),
)


def earlier_dating_may_help(why: str) -> bool:
    """Could dependencies dated earlier cure this build failure (`short_build_failure`'s line)?

    Not when the install did not resolve (an earlier date only has fewer versions), nor when the
    missing module or name is the release's own (its packaging, not its dependencies' later
    versions); otherwise, e.g. a dependency that dropped a name the release imports, it may.
    """
    if "No solution found" in why or "not satisfiable" in why:
        return False
    for pattern in _MODULE_NAMED:
        found = pattern.search(why)
        if found:
            return found.group(1).split(".")[0] not in RELEASE_OWN_MODULES
    return True
