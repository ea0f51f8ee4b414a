"""The date_format suggested for a value the built-in layouts did not read: it must read that value."""

from __future__ import annotations

import pytest

from segmint.date_hint import suggest_date_format


@pytest.mark.parametrize(("value", "layout"), [
    ("05.01.2023 10:00 Uhr", "%d.%m.%Y %H:%M Uhr"),  # dotted: day first
    ("2023-01-06 10:00:00 EST", "%Y-%m-%d %H:%M:%S EST"),
    ("31/12/2023 5:00PM CET", "%d/%m/%Y %I:%M%p CET"),  # 31 can only be the day
    ("12/31/23 5:00 pm", "%m/%d/%y %I:%M %p"),  # 31 can only be the day: month first
    ("1.5.2023 50% off", "%d.%m.%Y 50%% off"),  # a literal % is escaped
    ("2023-01-06T10:00 local", "%Y-%m-%dT%H:%M local"),
])
def test_suggests_the_layout_of_the_value(value: str, layout: str) -> None:
    assert suggest_date_format(value) == layout


@pytest.mark.parametrize("value", [
    "soon", "", None,
    "01/02/2023 x",  # day and month either way round: no guess
    "2023-02-30 x",  # no such day
    "31.13.2023 x",  # no month 13
])
def test_no_suggestion_when_unsure(value: object) -> None:
    assert suggest_date_format(value) is None
