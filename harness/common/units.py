"""Ages and sizes as people write and read them (`30d`, `12 min`, `206 MB`)."""

from __future__ import annotations


def parse_age(text: str) -> float:
    """`30d`, `12h`, `90m`, `2w` → seconds. Raises ValueError with the accepted forms."""
    units = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    text = text.strip().lower()
    if len(text) >= 2 and text[-1] in units:
        try:
            value = float(text[:-1])
        except ValueError:
            value = -1
        if value >= 0:
            return value * units[text[-1]]
    raise ValueError(f"age {text!r}: use a number and a unit, e.g. 30d, 12h, 90m, 2w")


def format_age(seconds: float) -> str:
    """A short age: `45 s`, `12 min`, `5 h`, `3 d`."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def format_size(size: int) -> str:
    """`206 MB`, `1.4 GB`."""
    if size >= 10**9:
        return f"{size / 10**9:.1f} GB"
    return f"{size / 10**6:.0f} MB"
