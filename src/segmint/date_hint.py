"""A ``date_format`` to suggest from one date value the built-in layouts did not read.

Dates a system writes with a trailing word (``05.01.2023 10:00 Uhr``, ``2023-01-06 10:00:00 EST``)
read with the layout of their leading date and time plus that word as literal text. A layout is
suggested only when it reads the value itself to a real calendar date, and never for a value whose
day and month could be either way round (``01/02/2023``).
"""

from __future__ import annotations

import re
from datetime import date

from segmint.errors import ConfigError
from segmint.parsing import pattern_from_strptime

_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_YEAR_LAST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?!\d)")
_TIME = re.compile(r"([ T])(\d{1,2}):(\d{2})(:\d{2})?(?!\d)")
_MERIDIEM = re.compile(r"(\s*)[ap]m(?![a-z])", re.IGNORECASE)


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
