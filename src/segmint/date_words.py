"""The words around a date that date detection and parsing read past: time zones and a leading weekday.

Plain patterns, without Ibis: :mod:`segmint.schema` (which the CLI imports before Ibis to sniff a text
file) detects dates with them, :mod:`segmint.parsing` parses them.
"""

from __future__ import annotations

# zone abbreviations read past like offsets (see :mod:`segmint.parsing`): North America, Europe, Asia, Oceania
ZONE_NAMES = (
    "utc", "gmt", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt", "akst", "akdt", "hst", "ast", "adt",
    "nst", "ndt", "wet", "west", "bst", "ist", "cet", "cest", "eet", "eest", "msk", "gst", "pkt", "ict", "wib",
    "sgt", "hkt", "pht", "jst", "kst", "awst", "acst", "acdt", "aest", "aedt", "nzst", "nzdt", "sast", "brt", "art",
)
ZONE_NAME = "(?:" + "|".join(sorted(ZONE_NAMES, key=len, reverse=True)) + ")"
ZONE_OFFSET = r"(?:utc|gmt)?[+-]\d{2}(?::?\d{2})?"
# a zone is read past, the local date and time kept: Z, a zone name (BigQuery's '2023-01-06 10:00:00 UTC',
# '... 10:00 EST'), +05:30, +0530 and PostgreSQL's 2-digit +00
ZONE_SUFFIX = rf"(?:\s*(?:z|{ZONE_NAME})|\s*{ZONE_OFFSET})?"
WEEKDAY_PREFIX = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"  # 'Fri, 06 Jan 2023', 'Friday, January 6, 2023'
