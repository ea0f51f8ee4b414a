"""A ``date_format`` to suggest from one date value the built-in layouts did not read, and what to say
of a date that ends in a word that is no time zone segmint reads (``2021-03-04 10:00 XYZ``).

Dates a system writes with a trailing word (``05.01.2023 10:00 Uhr``, ``2023-01-06 10:00:00 EST``)
read with the layout of their leading date and time plus that word as literal text. A layout is
suggested only when it reads the value itself to a real calendar date, and never for a value whose
day and month could be either way round (``01/02/2023``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from segmint.errors import ConfigError
from segmint.parsing import DATE_PATTERNS, ZONE_NAMES, pattern_from_strptime

_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_YEAR_LAST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?!\d)")
_TIME = re.compile(r"([ T])(\d{1,2}):(\d{2})(:\d{2})?(?!\d)")
_MERIDIEM = re.compile(r"(\s*)[ap]m(?![a-z])", re.IGNORECASE)
_LAST_WORD = re.compile(r"(.*\d)\s*([a-z][a-z0-9]*)", re.IGNORECASE | re.DOTALL)


def suggest_date_format(value: object) -> str | None:
    """A strptime layout that reads ``value`` (e.g. ``"%d.%m.%Y %H:%M Uhr"``), or None when unsure."""
    text = str(value or "").strip()
    if match := _YEAR_FIRST.match(text):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
        layout = f"%Y{match[2]}%m{match[2]}%d"
    elif match := _YEAR_LAST.match(text):
        first, second, sep = int(match[1]), int(match[3]), match[2]
        if sep == "." or first > 12 >= second:  # 31.12.2023 (the dotted convention) or 31/12/2023
            day, month, layout = first, second, f"%d{sep}%m{sep}"
        elif second > 12 >= first:
            day, month, layout = second, first, f"%m{sep}%d{sep}"
        else:
            return None  # 01/02/2023: either way round
        year = int(match[4]) + (2000 if len(match[4]) == 2 else 0)
        layout += "%Y" if len(match[4]) == 4 else "%y"
    else:
        return None
    rest = text[match.end():]
    if clock := _TIME.match(rest):
        rest = rest[clock.end():]
        hours = "%H"
        if meridiem := _MERIDIEM.match(rest):
            hours, rest = "%I", rest[meridiem.end():]
        layout += f"{clock[1]}{hours}:%M" + (":%S" if clock[4] else "") + (f"{meridiem[1]}%p" if meridiem else "")
    layout += rest.replace("%", "%%")
    try:
        date(year, month, day)
        readable = re.fullmatch(pattern_from_strptime(layout).regex, text.lower())
    except (ValueError, ConfigError):
        return None
    return layout if readable else None


def unknown_zone_word(value: object) -> str | None:
    """The word ending a date value that reads as a date without it and is no zone name segmint reads
    (``XYZ`` in ``2021-03-04 10:00 XYZ``, ``EST5``), None for any other value."""
    text = str(value or "").strip()
    match = _LAST_WORD.fullmatch(text)
    if not match or match[2].lower() in ZONE_NAMES:
        return None
    reads = lambda candidate: any(re.match(p.regex, candidate.lower()) for p in DATE_PATTERNS)  # noqa: E731
    return match[2] if reads(match[1]) and not reads(text) else None


def zone_word_hint(value: object, column: str) -> str | None:
    """What to do with dates that end in a word no zone name segmint reads (see :func:`unknown_zone_word`):
    the word, the zones read, and the two fixes; None when ``value`` has no such word."""
    word = unknown_zone_word(value)
    if word is None:
        return None
    layout = suggest_date_format(value)
    literal = f"date_format {layout!r}" if layout else (
        f"a date_format of the dates' layout followed by {word!r} (e.g. '%d/%m/%Y {word}' if the day comes first)")
    return (
        f"dates in column '{column}' such as {str(value).strip()!r} end in {word!r}, which is no time zone segmint reads "
        f"(it reads Z, offsets such as +05:30 or GMT+01 and the names {', '.join(n.upper() for n in ZONE_NAMES)}, "
        f"keeping the date and time as written); remove {word!r} from the values, or read it as literal text with "
        f"{literal}"
    )


def zone_word_warnings(bad_dates: Any, column: str) -> list[str]:
    """The report's warning when the dates dropped as not understood (``bad_dates``: their
    ``DroppedRows``, or None) end in a word that is no zone name: :func:`zone_word_hint` of the first."""
    for example in getattr(bad_dates, "examples", None) or []:
        if hint := zone_word_hint(example.get("value"), column):
            return [hint]
    return []
