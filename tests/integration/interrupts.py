"""Send a Ctrl-C to a child process the way a terminal would.

A shell starts background jobs (CI runners often do) with SIGINT ignored, and children inherit
that; Python then never installs its KeyboardInterrupt handler and a SIGINT does nothing. A
child started with `preexec_fn=sigint_as_in_a_terminal` gets the default disposition back, so
the test exercises what a user's Ctrl-C does.
"""

from __future__ import annotations

import signal


def sigint_as_in_a_terminal() -> None:
    """`preexec_fn` for subprocess.Popen: restore SIGINT's default disposition in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
