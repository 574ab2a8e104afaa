"""Case mapping as bash does it: one character at a time (`towupper`/`towlower`).

Python's `str.upper` applies the full Unicode mappings, which can change a string's length
(`'ß'.upper() == 'SS'`, `'ﬁ'.upper() == 'FI'`) and look at context (final sigma). bash maps each
character to one character, leaving those without a one-character mapping unchanged.
"""

from __future__ import annotations


def _one(mapped: str, ch: str) -> str:
    return mapped if len(mapped) == 1 else ch


def upper_char(ch: str) -> str:
    return _one(ch.upper(), ch)


def lower_char(ch: str) -> str:
    return _one(ch.lower(), ch)


def swap_char(ch: str) -> str:
    return lower_char(ch) if ch.isupper() else upper_char(ch)


def upper(s: str) -> str:
    return "".join(upper_char(ch) for ch in s) if not s.isascii() else s.upper()


def lower(s: str) -> str:
    return "".join(lower_char(ch) for ch in s) if not s.isascii() else s.lower()


def swapcase(s: str) -> str:
    return "".join(swap_char(ch) for ch in s) if not s.isascii() else s.swapcase()


def capitalize_first(s: str) -> str:
    """`${x^}` / `@u`: the first character upper-cased, the rest as they are."""
    return upper_char(s[:1]) + s[1:] if s else s


__all__ = [
    "capitalize_first",
    "lower",
    "lower_char",
    "swap_char",
    "swapcase",
    "upper",
    "upper_char",
]
