"""One rounding rule for every printed share and minute, and text escaping for Markdown output.

The rule: a figure is rounded once, from its exact value, half to even, to one decimal (percent
or minutes). When a figure is printed next to the threshold it is judged against, both get the
fewest extra decimals (up to six) that make them read differently whenever they differ, so a
failure never reads as a pass: 98.78% against "at least 98.8%" prints "98.78%" and "98.80%".
Rounding is monotone, so once the two texts differ they are ordered as the true values are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = [
    "MAX_DIGITS",
    "md_code",
    "md_text",
    "minutes",
    "minutes_pair",
    "percent",
    "percent_pair",
    "plain",
]

MAX_DIGITS = 6
"""Most decimals added to tell a figure from its threshold."""


def _digits_apart(value: float, limit: float, scale: float, base: int) -> int:
    """Fewest decimals (base..MAX_DIGITS) at which value and limit print differently."""
    for digits in range(base, MAX_DIGITS + 1):
        if f"{scale * value:.{digits}f}" != f"{scale * limit:.{digits}f}":
            return digits
    return base if value == limit else MAX_DIGITS


def percent(share: float, digits: int = 1) -> str:
    """A share as a percentage, '98.8%' ('n/a' when not a number)."""
    return f"{100 * share:.{digits}f}%" if math.isfinite(share) else "n/a"


def percent_pair(share: float, limit: float) -> tuple[str, str]:
    """(share, limit) as percentages with enough decimals to tell them apart."""
    if not math.isfinite(share):
        return "n/a", percent(limit)
    digits = _digits_apart(share, limit, 100.0, 1)
    return percent(share, digits), percent(limit, digits)


def minutes(value: float | None, digits: int = 1) -> str:
    """Minutes to one decimal, '43.2'; 'no route' when unreachable (None or NaN)."""
    if value is None or not math.isfinite(value):
        return "no route"
    return f"{value:.{digits}f}"


def minutes_pair(value: float | None, limit: float | Sequence[float]) -> str:
    """Minutes with enough decimals that a time over a limit (or each of several limits) never
    prints as that limit: 45.04 against 45 prints '45.04', 43.21 prints '43.2'."""
    if value is None or not math.isfinite(value):
        return "no route"
    limits = [limit] if isinstance(limit, (int, float)) else list(limit)
    digits = max((_digits_apart(value, float(t), 1.0, 1) for t in limits), default=1)
    return minutes(value, digits)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NEWLINES = re.compile(r"[\r\n\t]+")
_MD_SPECIAL = re.compile(r"([\\`*\[\]|]|(?<![^\W_])_|_(?![^\W_]))")
"""Markdown's code, emphasis, link and table characters; '_' only where it is not between two
letters or digits (an intraword '_' cannot open emphasis, so transit.departure_window stays)."""
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")


def plain(text: object) -> str:
    """Text safe for a terminal: control characters shown as '?', line breaks as spaces."""
    return _CONTROL.sub("?", _NEWLINES.sub(" ", str(text)))


def md_text(text: object) -> str:
    """Text shown as itself in Markdown, in a paragraph or a table cell.

    A '<' that could open an HTML tag, comment or autolink becomes '&lt;', so a viewer that
    renders HTML shows the tag and never runs it ('<= 150' stays as written); '&' does too
    where it would start a character reference; Markdown's emphasis, code, link and table
    characters are backslash-escaped; line breaks become spaces (no new blocks).
    """
    out = plain(text)
    out = _ENTITY.sub("&amp;", out)
    out = _TAG_OPEN.sub("&lt;", out)
    return _MD_SPECIAL.sub(r"\\\1", out)


def md_code(text: object) -> str:
    """Text as an inline code span (HTML inside is shown, not run), safe in a table cell."""
    out = plain(text)
    longest = max((len(run) for run in re.findall(r"`+", out)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if out.startswith("`") or out.endswith("`") else ""
    # a pipe ends a table cell even inside a code span; GFM drops the backslash before it
    return f"{fence}{pad}{out.replace('|', chr(92) + '|')}{pad}{fence}"
