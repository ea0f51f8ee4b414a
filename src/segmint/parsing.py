"""Portable Ibis expressions that parse messy date and number strings.

Every parser is a regular expression plus arithmetic on the captured parts (no ``strptime``, no
``try_cast``), so a value that does not fit yields NULL instead of an error on DuckDB, Spark and
PostgreSQL alike. Which formats apply to a column is decided from evidence by :mod:`segmint.clean`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from segmint.errors import ConfigError

MONTH_NAMES = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_TIME = r"(?:[t ]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(am|pm)?)?"
_TIME_ROLES = ("H", "M", "S", "p")
_TZ = r"(?:z|\s*[+-]\d{2}:?\d{2})?"
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
EXCEL_EPOCH_OFFSET = 25569  # Excel serial day of 1970-01-01 (serial 1 = 1900-01-01, Lotus leap bug)


@dataclass(frozen=True)
class DatePattern:
    """One date layout: a full-match regex over the lower-cased value and the role of each group.

    Roles: ``y`` (4-digit year), ``y2`` (2-digit year), ``m``, ``d``, ``mon`` (month name), ``a``/``b``
    (the two ambiguous numeric parts of dd/mm vs mm/dd), ``H``, ``M``, ``S``, ``p`` (am/pm).
    """

    name: str
    example: str
    regex: str
    roles: tuple[str, ...]


DATE_PATTERNS: tuple[DatePattern, ...] = (
    DatePattern("iso", "2023-04-01 10:30", rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}{_TZ}$",
                ("y", "m", "d", *_TIME_ROLES)),
    DatePattern("numeric", "01/04/2023", rf"^(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}|\d{{2}}){_TIME}$",
                ("a", "b", "yy", *_TIME_ROLES)),
    DatePattern("compact", "20230401", r"^(\d{4})(\d{2})(\d{2})(?:\.0+)?$", ("y", "m", "d")),
    DatePattern("day_month_name", "1-Apr-2023", rf"^(\d{{1,2}})[-/ .]+{MONTH_NAMES}\.?[-/ .,]+(\d{{4}}|\d{{2}}){_TIME}$",
                ("d", "mon", "yy", *_TIME_ROLES)),
    DatePattern("month_name_day", "Apr 1, 2023", rf"^{MONTH_NAMES}\.?[-/ .]+(\d{{1,2}})(?:st|nd|rd|th)?,?[-/ .]+(\d{{4}}|\d{{2}}){_TIME}$",
                ("mon", "d", "yy", *_TIME_ROLES)),
)
EXCEL_SERIAL = DatePattern("excel_serial", "45017", r"^(\d{5})(\.\d+)?$", ())

_STRPTIME = {
    "%Y": (r"(\d{4})", "y"), "%y": (r"(\d{2})", "yy"), "%m": (r"(\d{1,2})", "m"),
    "%d": (r"(\d{1,2})", "d"), "%b": (MONTH_NAMES, "mon"), "%B": (MONTH_NAMES, "mon"),
    "%H": (r"(\d{1,2})", "H"), "%I": (r"(\d{1,2})", "H"), "%M": (r"(\d{2})", "M"),
    "%S": (r"(\d{2})", "S"), "%p": (r"(am|pm)", "p"),
}


def pattern_from_strptime(fmt: str) -> DatePattern:
    """Translate a ``strptime`` format such as ``"%d.%m.%Y %H:%M"`` into a :class:`DatePattern`."""
    regex, roles, i = "^", [], 0
    while i < len(fmt):
        token = fmt[i : i + 2]
        if token == "%%":
            regex, i = regex + "%", i + 2
        elif token.startswith("%"):
            if token not in _STRPTIME:
                raise ConfigError(
                    f"date_format {fmt!r}: directive {token!r} is not supported; "
                    f"use {' '.join(_STRPTIME)}"
                )
            part, role = _STRPTIME[token]
            regex, i = regex + part, i + 2
            roles.append(role)
        else:
            regex, i = regex + (r"\s+" if fmt[i] == " " else re.escape(fmt[i]).lower()), i + 1
    if "y" not in roles and "yy" not in roles or "d" not in roles or not {"m", "mon"} & set(roles):
        raise ConfigError(f"date_format {fmt!r} needs a year (%Y/%y), a month (%m/%b) and a day (%d)")
    return DatePattern("date_format", fmt, regex + r"(?:\.\d+)?$", tuple(roles))


def _int_part(text: ir.StringValue, regex: str, index: int, default: int | None) -> ir.IntegerValue:
    part = text.re_extract(regex, index)
    fallback = ibis.literal(default, "int64") if default is not None else ibis.null("int64")
    return ibis.cases((part.re_search(r"^\d+$"), part.cast("int64")), else_=fallback)


def _days_in_month(year: ir.IntegerValue, month: ir.IntegerValue) -> ir.IntegerValue:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return ibis.cases(
        (month == 2, ibis.cases((leap, 29), else_=28)),
        (month.isin([4, 6, 9, 11]), 30),
        else_=31,
    )


def pattern_timestamp(text: ir.StringValue, pattern: DatePattern, *, dayfirst: bool = False) -> ir.TimestampValue:
    """Timestamp for values of ``text`` (lower-cased, trimmed) that match ``pattern``; NULL otherwise."""
    if pattern is EXCEL_SERIAL:
        return excel_serial_timestamp(text)
    parts: dict[str, ir.IntegerValue] = {}
    for index, role in enumerate(pattern.roles, start=1):
        if role == "mon":
            abbrev = text.re_extract(pattern.regex, index).substr(0, 3)
            parts["m"] = abbrev.cases(*_MONTH_NUMBER.items(), else_=ibis.null("int64"))
        elif role == "p":
            parts["p"] = text.re_extract(pattern.regex, index)
        else:
            parts[role] = _int_part(text, pattern.regex, index, 0 if role in "HMS" else None)
    if "a" in parts:
        parts["d"], parts["m"] = (parts["a"], parts["b"]) if dayfirst else (parts["b"], parts["a"])
    if "yy" in parts:  # 2-digit years: 00-69 -> 2000s, 70-99 -> 1900s
        yy = parts["yy"]
        parts["y"] = ibis.cases((yy >= 100, yy), (yy < 70, yy + 2000), else_=yy + 1900)
    year, month, day = parts["y"], parts["m"], parts["d"]
    hour = parts.get("H", ibis.literal(0, "int64"))
    minute, second = parts.get("M", ibis.literal(0, "int64")), parts.get("S", ibis.literal(0, "int64"))
    hour_ok = hour < 24
    if "p" in parts:
        meridiem = parts["p"]
        hour_ok = ibis.cases((meridiem == "", hour < 24), else_=(hour >= 1) & (hour <= 12))
        hour = ibis.cases(
            ((meridiem == "pm") & (hour < 12), hour + 12), ((meridiem == "am") & (hour == 12), 0),
            else_=hour,
        )
    valid = (
        text.re_search(pattern.regex)
        & year.between(1900, 2100)
        & month.between(1, 12)
        & (day >= 1)
        & (day <= _days_in_month(year, month))
        & hour_ok
        & (minute < 60)
        & (second < 60)
    )
    stamp = ibis.timestamp(year, month, day, hour, minute, second)
    return ibis.cases((valid, stamp), else_=ibis.null("timestamp"))


def excel_serial_timestamp(text: ir.StringValue) -> ir.TimestampValue:
    """Excel serial day numbers (``45017`` -> 2023-04-01, fractions are the time of day)."""
    serial = ibis.cases(
        (text.re_search(EXCEL_SERIAL.regex), text.cast("float64")), else_=ibis.null("float64")
    )
    seconds = ((serial - EXCEL_EPOCH_OFFSET) * 86400).round().cast("int64")
    stamp = ibis.timestamp("1970-01-01 00:00:00") + seconds.as_interval("s")
    return ibis.cases((serial.between(10000, 99999), stamp), else_=ibis.null("timestamp"))


def numeric_parts(text: ir.StringValue) -> tuple[ir.IntegerValue, ir.IntegerValue]:
    """The first and second number of dd/mm/yyyy-or-mm/dd/yyyy values (NULL for other layouts)."""
    regex = DATE_PATTERNS[1].regex
    return _int_part(text, regex, 1, None), _int_part(text, regex, 2, None)


# --- numbers: money strings, Dr/Cr, parentheses, thousands separators -----------------------
_CURRENCY = r"(?:rs\.?|inr|usd|eur|gbp|aud|cad|[$€£₹¥])"
NUMBER_REGEX = (
    rf"^\(?\s*([-+−]?)\s*{_CURRENCY}?\s*([-+−]?)\s*(\d[\d.,' ]*\d|\d|\.\d+)\s*{_CURRENCY}?"
    r"\s*(-?)\s*\)?\s*(dr|cr)?\.?$"
)
PLAIN_NUMBER = r"^[-+]?\d+(\.\d+)?$"
POINT_DECIMAL = r"\.\d{1,2}$|\.\d{4,}$|,\d+\.\d+$"  # 1,234.50  12.5  3.14159  1,234.5
COMMA_DECIMAL = r",\d{1,2}$|,\d{4,}$|\.\d+,\d+$"  # 1.234,50  12,5
BLANK_TOKENS = ("", "-", "--", "nan", "null", "none", "n/a", "na", "#n/a")


@dataclass(frozen=True)
class ParsedNumber:
    """Expressions describing one parsed number column."""

    value: ir.FloatingValue  # NULL when blank or not a number
    blank: ir.BooleanValue  # empty, '-', 'nan' ... (not an error)
    invalid: ir.BooleanValue  # something was written but it is not a number
    reformatted: ir.BooleanValue  # parsed from a money-style string (symbols, separators, Dr/Cr, ...)
    credit: ir.BooleanValue  # carried a 'Cr' marker
    dr_cr: ir.BooleanValue  # carried a 'Dr' or 'Cr' marker
    parenthesised: ir.BooleanValue  # written as (120.00)


def normalised(text: ir.StringValue) -> ir.StringValue:
    """Lower-cased, trimmed text (non-breaking spaces treated as spaces)."""
    return text.re_replace("\u00a0", " ").strip().lower()


def decimal_evidence(value: ir.Value) -> tuple[ir.BooleanValue, ir.BooleanValue]:
    """Whether each value is unmistakably decimal-point (``1,234.50``) / decimal-comma (``1.234,50``)."""
    if value.type().is_numeric():
        return ibis.literal(False), ibis.literal(False)
    core = normalised(value.cast("string")).re_extract(NUMBER_REGEX, 3)
    return core.re_search(POINT_DECIMAL), core.re_search(COMMA_DECIMAL)


def parse_number(value: ir.Value, *, decimal_comma: bool = False) -> ParsedNumber:
    """Parse numbers such as ``Rs. 1,23,456.50``, ``(120.00)``, ``1,234.50 Cr`` or ``€1.234,50``.

    A value with a decimal-point (``1,234.50``) or decimal-comma (``1.234,50``) signature is read
    that way; ambiguous ones (``1,234``) follow ``decimal_comma`` (the column's evidence).
    """
    false = ibis.literal(False)
    if value.type().is_numeric():
        number = value.cast("float64")
        return ParsedNumber(number, value.isnull(), false, false, false, false, false)
    text = normalised(value.cast("string"))
    blank = text.isnull() | text.isin(list(BLANK_TOKENS))
    matched = text.re_search(NUMBER_REGEX) & ~blank
    core = text.re_extract(NUMBER_REGEX, 3)
    as_comma = core.re_search(COMMA_DECIMAL) | (~core.re_search(POINT_DECIMAL) & decimal_comma)
    digits = ibis.cases(
        (as_comma, core.re_replace(r"[.' ]", "").replace(",", ".")),
        else_=core.re_replace(r"[,' ]", ""),
    )
    ok = matched & digits.re_search(r"^\d*\.?\d+$|^\d+\.$")
    magnitude = ibis.cases((ok, digits.cast("float64")), else_=ibis.null("float64"))
    marker = text.re_extract(NUMBER_REGEX, 5)
    credit = ok & (marker == "cr")
    parenthesised = ok & text.re_search(r"^\(.*\)\s*(dr|cr)?\.?$")
    minus = (
        text.re_extract(NUMBER_REGEX, 1).isin(["-", "−"])
        | text.re_extract(NUMBER_REGEX, 2).isin(["-", "−"])
        | (text.re_extract(NUMBER_REGEX, 4) == "-")
    )
    sign_flip = ok & (minus | parenthesised | credit)
    number = ibis.cases((sign_flip, -magnitude), else_=magnitude)
    reformatted = ok & ~text.re_search(PLAIN_NUMBER)
    dr_cr = ok & marker.isin(["dr", "cr"])
    return ParsedNumber(number, blank, ~blank & ~ok, reformatted, credit, dr_cr, parenthesised)
