"""Suggest a known name ("did you mean …?") only when the unknown one is a slip of the keyboard.

A suggestion is worth making when the word is the name with a letter or two wrong (`tems` →
`teams`, `platfrom` → `platform`), and misleading when the word names something else
(`end_users` is not a typo of `users`; it asks for a capability the language lacks). So a
name is suggested only when few edits turn the word into it, relative to the name's length:
one edit for a name of up to 7 characters, one more per 4 characters after that. An edit is
inserting, deleting or replacing a character, or swapping two neighbours; case is ignored.
A name that merely occurs inside the word (`users` in `end_users`) is as many edits away as
the extra characters, so it is not suggested.
"""

from __future__ import annotations

from typing import Iterable


def allowed_edits(name: str) -> int:
    """How many edits still make a word a misspelling of `name` (1 up to 7 characters, then +1 per 4)."""
    return max(1, len(name) // 4)


def closest_spelling(word: str, names: Iterable[str]) -> str | None:
    """The name in `names` that `word` is a misspelling of, or None when none is close.

    Among close names the one fewest edits away wins; ties go to the earliest in `names`.
    """
    lowered = word.lower()
    masks: dict[str, int] | None = None  # built at the first name of a near length, not before
    best: tuple[int, str] | None = None
    for name in names:
        if name == word:
            continue
        limit = allowed_edits(name) if best is None else min(allowed_edits(name), best[0] - 1)
        if limit < 0 or abs(len(name) - len(word)) > limit:  # each extra or missing character is an edit
            continue
        masks = _char_masks(lowered) if masks is None else masks
        distance = _edits(masks, len(lowered), name.lower())
        if distance <= limit:
            best = (distance, name)
    return best[1] if best else None


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """` (did you mean 'name'?)` for a close spelling, else an empty string."""
    close = closest_spelling(word, names)
    return f" (did you mean '{close}'?)" if close else ""


def _char_masks(word: str) -> dict[str, int]:
    """Bit i of `masks[c]` is set when `word[i] == c`."""
    masks: dict[str, int] = {}
    for index, char in enumerate(word):
        masks[char] = masks.get(char, 0) | (1 << index)
    return masks


def _edits(masks: dict[str, int], length: int, text: str) -> int:
    """Edits between the word described by `masks`/`length` and `text` (optimal string alignment).

    Hyyrö's bit-parallel algorithm (2003): one column of the edit-distance table per character
    of `text`, held in the bits of a few integers, so a comparison costs a few operations per
    character instead of one per cell of the table.
    """
    if length == 0:
        return len(text)
    full = (1 << length) - 1
    last = 1 << (length - 1)
    plus, minus, diagonal, previous_mask = full, 0, 0, 0
    distance = length
    for char in text:
        mask = masks.get(char, 0)
        swapped = (((~diagonal) & mask) << 1) & previous_mask
        diagonal = ((((mask & plus) + plus) ^ plus) | mask | minus | swapped) & full
        h_plus = minus | (~(diagonal | plus) & full)
        h_minus = diagonal & plus
        if h_plus & last:
            distance += 1
        elif h_minus & last:
            distance -= 1
        h_plus = ((h_plus << 1) | 1) & full
        h_minus = (h_minus << 1) & full
        plus = h_minus | (~(diagonal | h_plus) & full)
        minus = h_plus & diagonal
        previous_mask = mask
    return distance
