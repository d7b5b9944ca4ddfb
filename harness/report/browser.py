"""Headless Chromium (Debian's `chromium`) for looking at a report as a person would.

Used by the browser test and by `gateconform report --screenshot`: the page is opened from
disk, so this also proves it needs no network. Every Chromium started here runs in its own
process group with a throw-away profile and is killed (group and all) when it is done or
times out.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEFAULT_TIMEOUT_S = 60.0
# Rendering waits this long (virtual time) for the inline script; there is nothing to load.
_BUDGET_MS = "2000"


class BrowserError(RuntimeError):
    """Chromium is missing, failed, or took too long."""


def find_chromium() -> str | None:
    """The path of a Chromium binary, or None (`/usr/bin/chromium` on Debian)."""
    override = os.environ.get("GATECONFORM_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], timeout: float) -> str:
    binary = find_chromium()
    if binary is None:
        raise BrowserError("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="gateconform-chromium-") as profile:
        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
            "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile}",
            f"--virtual-time-budget={_BUDGET_MS}", *args,
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # its own process group: renderer and GPU helpers die with it
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise BrowserError(f"chromium did not finish within {timeout:g} s") from None
        finally:
            _kill_group(process)
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-10:])
        raise BrowserError(f"chromium exited with {process.returncode}:\n{tail}")
    return stdout


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.kill()
    process.wait()


def dump_dom(page: Path, fragment: str = "", timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """The DOM of `page` (opened at `#fragment` if given) after its scripts ran."""
    url = Path(page).resolve().as_uri() + (f"#{fragment.lstrip('#')}" if fragment else "")
    return _run(["--dump-dom", url], timeout)


def screenshot(
    page: Path, png: Path, width: int = 1280, height: int = 1600, timeout: float = DEFAULT_TIMEOUT_S
) -> Path:
    """Save a PNG of `page` at the given window size; returns the PNG path."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    _run([f"--screenshot={png}", f"--window-size={width},{height}", Path(page).resolve().as_uri()], timeout)
    if not png.exists():
        raise BrowserError(f"chromium did not write {png}")
    return png
