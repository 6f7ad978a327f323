"""Unified social credit codes (统一社会信用代码, GB 32100-2015) and their check characters.

An 18-character code: registering authority (1), entity type (1), the registering authority's
GB/T 2260 region (6 digits), the organisation code (9, GB 11714, with its own check character)
and the check character over the first 17 (mod 31).
"""

from __future__ import annotations

import re

from carbonhub.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}$")


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    total = sum(
        ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def organisation_check_character(first8: str) -> str:
    """The GB 11714 check character of the 9-character organisation code inside a USCC."""
    total = sum(_org_value(char) * weight for char, weight in zip(first8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def validate_uscc(code: str) -> str:
    """Return the normalised code (upper case) or raise :class:`InvalidInput` saying what is wrong."""
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise InvalidInput(f"unified social credit code {code!r} must have 18 characters")
    if not _SHAPE.match(normalised):
        raise InvalidInput(
            f"unified social credit code {code!r} has characters outside GB 32100 "
            "(digits and A-Y without I, O, S, V, Z; characters 3-8 are a region code)"
        )
    organisation = normalised[8:17]
    if organisation_check_character(organisation[:8]) != organisation[8]:
        raise InvalidInput(
            f"unified social credit code {code!r}: the organisation code {organisation} "
            "fails its GB 11714 check character"
        )
    expected = check_character(normalised[:17])
    if expected != normalised[17]:
        raise InvalidInput(
            f"unified social credit code {code!r}: check character should be {expected!r}"
        )
    return normalised


def complete_uscc(prefix: str, organisation8: str) -> str:
    """Build a valid code from the 8-character prefix (authority, type, region) and 8 organisation characters."""
    organisation = organisation8 + organisation_check_character(organisation8)
    first17 = prefix + organisation
    return first17 + check_character(first17)
