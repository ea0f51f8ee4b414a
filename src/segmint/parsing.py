"""Portable Ibis expressions that parse messy date and number strings.

Every parser is a regular expression plus arithmetic on the captured parts (no ``strptime``, no
``try_cast``), so a value that does not fit yields NULL instead of an error on DuckDB, Spark and
PostgreSQL alike. Which formats apply to a column is decided from evidence by :mod:`segmint.clean`.

Time zones: a date keeps the date and time written, whatever zone follows them (``Z``, ``UTC``, ``+05:30``,
``-08``, or a name such as ``EST``, ``CEST``, ``IST``: :data:`ZONE_NAMES`). A sale at 23:30 EST is a
sale of that day where it was made, not of the next day in UTC. As no zone is converted, a name that
stands for several zones (``IST``: India, Israel or Ireland; ``CST``: US Central or China) is read like
the others: whichever zone is meant, the written date is the same. A word that is no zone name
(``EST5``, ``XYZ``) is no date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
# zone abbreviations read past like offsets (see the module docstring): North America, Europe, Asia, Oceania
ZONE_NAMES = (
    "utc", "gmt", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt", "akst", "akdt", "hst", "ast", "adt",
    "nst", "ndt", "wet", "west", "bst", "ist", "cet", "cest", "eet", "eest", "msk", "gst", "pkt", "ict", "wib",
    "sgt", "hkt", "pht", "jst", "kst", "awst", "acst", "acdt", "aest", "aedt", "nzst", "nzdt", "sast", "brt", "art",
)
_ZONE_NAME = "(?:" + "|".join(sorted(ZONE_NAMES, key=len, reverse=True)) + ")"
_ZONE_OFFSET = r"(?:utc|gmt)?[+-]\d{2}(?::?\d{2})?"
# a zone is read past, the local date and time kept: Z, a zone name (BigQuery's '2023-01-06 10:00:00 UTC',
# '... 10:00 EST'), +05:30, +0530 and PostgreSQL's 2-digit +00
ZONE_SUFFIX = rf"(?:\s*(?:z|{_ZONE_NAME})|\s*{_ZONE_OFFSET})?"
WEEKDAY_PREFIX = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"  # 'Fri, 06 Jan 2023', 'Friday, January 6, 2023'
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
    DatePattern("iso", "2023-04-01 10:30", rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}{ZONE_SUFFIX}$",
                ("y", "m", "d", *_TIME_ROLES)),
    DatePattern("numeric", "01/04/2023", rf"^(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}|\d{{2}}){_TIME}{ZONE_SUFFIX}$",
                ("a", "b", "yy", *_TIME_ROLES)),
    DatePattern("compact", "20230401", r"^(\d{4})(\d{2})(\d{2})(?:\.0+)?$", ("y", "m", "d")),
    DatePattern("day_month_name", "1-Apr-2023", rf"^{WEEKDAY_PREFIX}(\d{{1,2}})[-/ .]+{MONTH_NAMES}\.?[-/ .,]+(\d{{4}}|\d{{2}}){_TIME}{ZONE_SUFFIX}$",
                ("d", "mon", "yy", *_TIME_ROLES)),
    DatePattern("month_name_day", "Apr 1, 2023", rf"^{WEEKDAY_PREFIX}{MONTH_NAMES}\.?[-/ .]+(\d{{1,2}})(?:st|nd|rd|th)?,?[-/ .]+(\d{{4}}|\d{{2}}){_TIME}{ZONE_SUFFIX}$",
                ("mon", "d", "yy", *_TIME_ROLES)),
)
EXCEL_SERIAL = DatePattern("excel_serial", "45017", r"^(\d{5})(\.\d+)?$", ())

_STRPTIME = {
    "%Y": (r"(\d{4})", "y"), "%y": (r"(\d{2})", "yy"), "%m": (r"(\d{1,2})", "m"),
    "%d": (r"(\d{1,2})", "d"), "%b": (MONTH_NAMES, "mon"), "%B": (MONTH_NAMES, "mon"),
    "%H": (r"(\d{1,2})", "H"), "%I": (r"(\d{1,2})", "H"), "%M": (r"(\d{2})", "M"),
    "%S": (r"(\d{2})", "S"), "%p": (r"(am|pm)", "p"),
    # a zone name or offset: read past, the date and time as written (see the module docstring)
    "%Z": (_ZONE_NAME, ""), "%z": (rf"(?:z|{_ZONE_OFFSET})", ""),
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
            roles += [role] if role else []  # a zone captures nothing
        else:
            regex, i = regex + (r"\s+" if fmt[i] == " " else re.escape(fmt[i]).lower()), i + 1
    if "y" not in roles and "yy" not in roles or "d" not in roles or not {"m", "mon"} & set(roles):
        raise ConfigError(f"date_format {fmt!r} needs a year (%Y/%y), a month (%m/%b) and a day (%d)")
    return DatePattern("date_format", fmt, regex + r"(?:\.\d+)?$", tuple(roles))


def _int_part(part: ir.StringValue, default: int | None) -> ir.IntegerValue:
    fallback = ibis.literal(default, "int64") if default is not None else ibis.null("int64")
    return ibis.cases((part.re_search(r"^\d+$"), part.cast("int64")), else_=fallback)


def _days_in_month(year: ir.IntegerValue, month: ir.IntegerValue) -> ir.IntegerValue:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return ibis.cases(
        (month == 2, ibis.cases((leap, 29), else_=28)),
        (one_of(month, (4, 6, 9, 11)), 30),
        else_=31,
    )


def add_parsed_dates(
    table: ibis.Table, text: str, out: str, patterns: tuple[DatePattern, ...], *, dayfirst: bool = False
) -> ibis.Table:
    """Add column ``out``: the timestamp of the first of ``patterns`` that the ``text`` column fits.

    ``text`` must hold lower-cased, trimmed values (:func:`normalised`); misfits give NULL. The work
    is split in layers that refer to the previous layer's columns so the SQL stays small.
    """
    helpers: list[str] = []
    name = {"H": "hour", "M": "minute", "S": "second"}  # SQL names are case-insensitive: avoid M vs m

    def layer(t: ibis.Table, columns: dict[str, ir.Value]) -> ibis.Table:
        helpers.extend(columns)
        return t.mutate(**columns)

    named = [(f"{out}_{i}", p) for i, p in enumerate(patterns) if p is not EXCEL_SERIAL]
    t = layer(table, {f"{key}_{j}": table[text].re_extract(p.regex, j)
                      for key, p in named for j in range(1, len(p.roles) + 1)}
              | {f"{key}_ok": table[text].re_search(p.regex) for key, p in named})
    ints: dict[str, ir.Value] = {}
    for key, p in named:
        for j, role in enumerate(p.roles, start=1):
            raw = t[f"{key}_{j}"]
            if role == "mon":
                abbrev = raw.substr(0, 3)
                ints[f"{key}_m"] = abbrev.cases(*_MONTH_NUMBER.items(), else_=ibis.null("int64"))
            elif role == "p":
                ints[f"{key}_p"] = raw.fill_null("")  # PostgreSQL gives NULL for a group that did not match
            else:
                if role == "yy":  # '0001' is year 1, not 2001: only 2-digit years are windowed
                    ints[f"{key}_yylen"] = raw.length()
                ints[f"{key}_{name.get(role, role)}"] = _int_part(raw, 0 if role in "HMS" else None)
    t = layer(t, ints)
    parts: dict[str, ir.Value] = {}
    for key, p in named:
        if "yy" in p.roles:  # 2-digit years: 00-69 -> 2000s, 70-99 -> 1900s
            yy = t[f"{key}_yy"]
            four = (t[f"{key}_yylen"] > 2) | (yy >= 100)
            parts[f"{key}_y"] = ibis.cases((four, yy), (yy < 70, yy + 2000), else_=yy + 1900)
        if "a" in p.roles:
            day, month = (f"{key}_a", f"{key}_b") if dayfirst else (f"{key}_b", f"{key}_a")
            parts[f"{key}_d"], parts[f"{key}_m"] = t[day], t[month]
        if "p" in p.roles:
            hour, meridiem = t[f"{key}_hour"], t[f"{key}_p"]
            parts[f"{key}_hok"] = ibis.cases((meridiem == "", hour < 24), else_=hour.between(1, 12))
            parts[f"{key}_hour"] = ibis.cases(
                ((meridiem == "pm") & (hour < 12), hour + 12), ((meridiem == "am") & (hour == 12), 0),
                else_=hour,
            )
    t = layer(t, parts)
    stamps: dict[str, ir.Value] = {}
    zero = ibis.literal(0, "int64")
    for key, p in named:
        year, month, day = t[f"{key}_y"], t[f"{key}_m"], t[f"{key}_d"]
        hour, minute, second = (t[f"{key}_{name[r]}"] if r in p.roles else zero for r in "HMS")
        hour_ok = t[f"{key}_hok"] if "p" in p.roles else hour < 24
        valid = (
            t[f"{key}_ok"] & year.between(1, 9999) & month.between(1, 12) & (day >= 1)
            & (day <= _days_in_month(year, month)) & hour_ok & (minute < 60) & (second < 60)
        )
        stamps[f"{key}_ts"] = ibis.cases(
            (valid, _timestamp(t, year, month, day, hour, minute, second)), else_=ibis.null("timestamp")
        )
    if EXCEL_SERIAL in patterns:
        stamps[f"{out}_serial_ts"] = excel_serial_timestamp(t[text])
    t = layer(t, stamps)
    found = [t[f"{key}_ts"] for key, _ in named]
    if EXCEL_SERIAL in patterns:
        found.append(t[f"{out}_serial_ts"])
    return t.mutate(**{out: ibis.coalesce(*found) if len(found) > 1 else found[0]}).drop(*helpers)


def _timestamp(table: ir.Table, *parts: ir.IntegerValue) -> ir.TimestampValue:
    """Timestamp from year, month, day, hour, minute, second columns, on any backend.

    The pyspark compiler has no rule for ``ibis.timestamp(y, m, d, H, M, S)``; there the ISO text
    ``YYYY-MM-DD HH:MM:SS`` is built and cast, which every backend compiles.
    """
    if _backend_name(table) != "pyspark":
        return ibis.timestamp(*parts)
    widths = (4, 2, 2, 2, 2, 2)
    padded = [part.cast("string").lpad(width, "0") for part, width in zip(parts, widths, strict=True)]
    year, month, day, hour, minute, second = padded
    text = year + "-" + month + "-" + day + " " + hour + ":" + minute + ":" + second
    return text.cast("timestamp")


def _backend_name(table: ir.Table) -> str:
    try:
        return table._find_backend().name
    except Exception:  # unbound memtables have no backend yet
        return ""


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
    return _int_part(text.re_extract(regex, 1), None), _int_part(text.re_extract(regex, 2), None)


# --- numbers: money strings, Dr/Cr, parentheses, thousands separators -----------------------
_CURRENCY = r"(?:rs\.?|inr|usd|eur|gbp|aud|cad|[$€£₹¥])"
# the same currencies by the symbol a report names them with -> a regex finding them in a text NUMBER_REGEX
# matched (whose only letters are a currency, an exponent or a Dr/Cr marker): a currency read above is counted
CURRENCY_MARKERS = {"$": r"\$|usd", "€": r"€|eur", "£": r"£|gbp", "₹": r"₹|inr|rs", "¥": r"¥", "AUD": r"aud", "CAD": r"cad"}
# a minus sign as typeset: hyphen-minus, U+2212 minus and U+2013 en dash (word processors' '–12.00')
MINUS_SIGNS = ("-", "\u2212", "\u2013")
_MINUS = "".join(MINUS_SIGNS)
# groups: 1, 2 leading signs; 3 digits with separators; 4 exponent (1.5e+03); 5 trailing minus; 6 Dr/Cr
NUMBER_REGEX = (
    rf"^\(?\s*([{_MINUS}+]?)\s*{_CURRENCY}?\s*([{_MINUS}+]?)\s*(\d[\d.,' ]*\d|\d|\.\d+)"
    rf"(e[-+]?\d{{1,4}})?\s*{_CURRENCY}?\s*([{_MINUS}]?)\s*\)?\s*(dr|cr)?\.?$"
)
MAX_EXPONENT = 290  # 1.5e+03 reads as 1500; beyond 1e290 a value is not money but overflow (1e309 = inf)
PLAIN_NUMBER = r"^[-+]?\d+(\.\d+)?$"
POINT_DECIMAL = r"\.\d{1,2}$|\.\d{4,}$|,\d+\.\d+$"  # 1,234.50  12.5  3.14159  1,234.5
COMMA_DECIMAL = r",\d{1,2}$|,\d{4,}$|\.\d+,\d+$"  # 1.234,50  12,5
DOT_GROUPED = r"^\d{1,3}(\.\d{3}){2,}(,\d+)?$"  # 1.234.567  1.234.567,5
COMMA_GROUPED = r"^\d{1,3}((,\d{2})+,\d{3}|(,\d{3}){2,})(\.\d+)?$"  # 1,234,567  1,23,456 (Indian)
BLANK_TOKENS = ("", "-", "--", "nan", "null", "none", "n/a", "na", "#n/a")
MAX_BLANK_TOKEN = max(len(token) for token in BLANK_TOKENS)
# one regex on the raw text (any case, surrounding spaces/non-breaking spaces): far cheaper than
# normalising the text and comparing it with each token, which DuckDB recomputes per comparison
BLANK_PATTERN = (
    "(?i)^[\\s\u00a0]*("
    + "|".join(re.escape(token) for token in BLANK_TOKENS if token)
    + ")?[\\s\u00a0]*$"
)


def is_blank(value: ir.Value) -> ir.BooleanValue:
    """Null, empty or a placeholder like '-', 'nan', 'N/A' (only text can hold a placeholder).

    The regex only runs on values that could be blank (short, or starting/ending with white space):
    a longer value with visible first and last characters cannot be, and most values are such.
    """
    if value.type().is_floating():
        return value.isnull() | value.isnan().fill_null(False)
    if not value.type().is_string():
        return value.isnull()
    maybe = (value.length() <= MAX_BLANK_TOKEN) | spacey(value.left(1)) | spacey(value.right(1))
    return value.isnull() | ibis.cases((maybe, value.re_search(BLANK_PATTERN)), else_=False)


def spacey(char: ir.StringValue) -> ir.BooleanValue:
    """One character (or none) that is white space or a non-breaking space (a plain comparison)."""
    return (char <= " ") | (char == "\u00a0")


NUMBER_FLAGS = ("blank", "invalid", "money", "credit", "drcr", "paren")  # suffixes of add_parsed_number


# spaces that are not ' ': non-breaking, narrow non-breaking (French digit grouping: '1\u202f234,50 €')
# and thin (U+2009, a digit grouping of typeset reports)
OTHER_SPACES = ("\u00a0", "\u202f", "\u2009")


def normalised(text: ir.StringValue) -> ir.StringValue:
    """Lower-cased, trimmed text (non-breaking, narrow and thin spaces treated as spaces)."""
    for space in OTHER_SPACES:
        text = text.replace(space, " ")
    return text.strip().lower()


def one_of(value: ir.Value, options: Sequence[object]) -> ir.BooleanValue:
    """``value`` equals one of a few literals.

    Written as OR-ed equalities: DuckDB plans ``IN (<list>)`` as a hash join, which cost about a
    second per million rows for each blank/credit check.
    """
    return ibis.or_(*[value == option for option in options])


def decimal_evidence(value: ir.Value) -> tuple[ir.BooleanValue, ir.BooleanValue]:
    """Whether each value is unmistakably decimal-point (``1,234.50``) / decimal-comma (``1.234,50``)."""
    core = normalised(value.cast("string")).re_extract(NUMBER_REGEX, 3)
    return core.re_search(POINT_DECIMAL), core.re_search(COMMA_DECIMAL)


def _exponent_value(exponent: ir.StringValue) -> ir.IntegerValue:
    """``e+03`` -> 3, ``e-12`` -> -12 (only called on 1-3 digit exponents)."""
    digits = exponent.re_extract(r"(\d+)$", 1)
    value = ibis.cases((digits.re_search(r"^\d{1,3}$"), digits.cast("int64")), else_=ibis.literal(999, "int64"))
    return ibis.cases((exponent.contains("-"), -value), else_=value)


def add_parsed_number(
    table: ibis.Table, column: str, out: str, *, decimal_comma: bool = False
) -> ibis.Table:
    """Add ``out`` (float) parsed from ``Rs. 1,23,456.50``, ``(120.00)``, ``1,234.50 Cr``, ``€1.234,50``...

    Also adds boolean ``out_<flag>`` columns for :data:`NUMBER_FLAGS`: blank ('', '-', 'nan': not an
    error), invalid (written but not a number), money (needed more than a plain-number read), credit
    ('Cr' marker), drcr ('Dr' or 'Cr' marker), paren (written in parentheses). A value with a
    decimal-point (``1,234.50``) or decimal-comma (``1.234,50``) signature is read that way;
    ambiguous ones (``1,234``) follow ``decimal_comma`` (the column's evidence). Scientific notation
    (``1.5E+03``) is a number; an exponent beyond ``MAX_EXPONENT`` is not (``1e309`` would be inf). A
    numeric column's NaN is blank and its +-inf invalid; ``-0`` reads as 0.
    """
    value = table[column]
    false = ibis.literal(False)
    if value.type().is_numeric():
        number = value.cast("float64")
        if value.type().is_floating():  # NaN is a missing value (pandas writes it so), inf is not a number
            blank = value.isnull() | number.isnan().fill_null(False)
            invalid = number.isinf().fill_null(False)
            number = ibis.cases((blank | invalid, ibis.null("float64")), else_=number + 0.0)
        else:
            blank, invalid = value.isnull(), false
        flags = {f"{out}_{flag}": false for flag in NUMBER_FLAGS} | {f"{out}_blank": blank}
        return table.mutate(**{out: number}, **flags | {f"{out}_invalid": invalid})
    t = table.mutate(**{f"{out}_t": normalised(value.cast("string"))})
    text = t[f"{out}_t"]
    t = t.mutate(**{
        f"{out}_blank": is_blank(text),
        f"{out}_match": text.re_search(NUMBER_REGEX),
        f"{out}_core": text.re_extract(NUMBER_REGEX, 3),
        f"{out}_exponent": text.re_extract(NUMBER_REGEX, 4),
        f"{out}_marker": text.re_extract(NUMBER_REGEX, 6),
        f"{out}_minus": one_of(text.re_extract(NUMBER_REGEX, 1), MINUS_SIGNS)
        | one_of(text.re_extract(NUMBER_REGEX, 2), MINUS_SIGNS) | one_of(text.re_extract(NUMBER_REGEX, 5), MINUS_SIGNS),
        f"{out}_plain": text.re_search(PLAIN_NUMBER),
        f"{out}_paren_raw": text.re_search(r"^\(.*\)\s*(dr|cr)?\.?$"),
    })
    core = t[f"{out}_core"]
    # digits grouped by two or more dots (1.234.567) or commas (1,234,567; 1,23,45,678) are whole, whatever
    # the column's decimal mark: a decimal mark appears once
    as_comma = ibis.cases(
        (core.re_search(DOT_GROUPED), True), (core.re_search(COMMA_GROUPED), False),
        else_=core.re_search(COMMA_DECIMAL) | (~core.re_search(POINT_DECIMAL) & decimal_comma),
    )
    digits = ibis.cases(
        (as_comma, core.re_replace(r"[.' ]", "").replace(",", ".")), else_=core.re_replace(r"[,' ]", "")
    )
    t = t.mutate(**{f"{out}_digits": digits})
    digits, exponent = t[f"{out}_digits"], t[f"{out}_exponent"].fill_null("")
    scaled = exponent != ""
    ok = t[f"{out}_match"] & ~t[f"{out}_blank"] & digits.re_search(r"^\d*\.?\d+$|^\d+\.$")
    ok = ok & (~scaled | ((digits.length() <= 18) & (_exponent_value(exponent).abs() <= MAX_EXPONENT)))
    t = t.mutate(**{
        f"{out}_ok": ok,
        f"{out}_magnitude": ibis.cases(
            (ok & scaled, (digits + exponent).cast("float64")), (ok, digits.cast("float64")),
            else_=ibis.null("float64"),
        ),
    })
    ok, marker = t[f"{out}_ok"], t[f"{out}_marker"]
    credit = ok & (marker == "cr")
    paren = ok & t[f"{out}_paren_raw"]
    flip = ok & (t[f"{out}_minus"] | paren | credit)
    magnitude = t[f"{out}_magnitude"]
    t = t.mutate(**{
        out: ibis.cases((flip & (magnitude != 0), -magnitude), else_=magnitude),
        f"{out}_invalid": ~t[f"{out}_blank"] & ~ok,
        f"{out}_money": ok & ~t[f"{out}_plain"],
        f"{out}_credit": credit,
        f"{out}_drcr": ok & one_of(marker, ("dr", "cr")),
        f"{out}_paren": paren,
    })
    helpers = ("t", "match", "core", "exponent", "marker", "minus", "plain", "paren_raw", "digits", "ok",
               "magnitude")
    return t.drop(*(f"{out}_{h}" for h in helpers))
