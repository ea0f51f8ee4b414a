"""A story's result: its tables built when first read, and what is printed counted without them.

:class:`StoryResult` holds a story's periods and notes, and builds its tables (``period_segments``,
``story``, ``transitions``, ``cohorts``; :class:`Parts`) together when one is first read; the
overview and the retention table are counted without them until then
(:mod:`segmint.story_current`), and the first customer card read before any table from that
customer's rows alone (:class:`Card`). :func:`segmint.story.build_story` makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from segmint import coverage as cov
from segmint.errors import DataError
from segmint.story_current import Current
from segmint.story_rows import Coded
from segmint.story_narrative import story_frame, story_overview

__all__ = ["KIND_DESCRIPTIONS", "KIND_NAMES", "Card", "Parts", "StoryResult"]

KIND_NAMES = {"as_of": "as-of (lifecycle)", "within_period": "within-period (activity/value)"}
KIND_DESCRIPTIONS = {
    "as_of": "each customer's segment as it stood at the end of each {period}, on all their history "
             "to that date",
    "within_period": "how each customer fared inside each {period}, among the customers who bought in it",
}


@dataclass
class Parts:
    """Every table of a story (what ``--out`` writes and a customer's card reads)."""

    period_segments: ir.Table
    story_query: ir.Table  # the story table as an expression
    transitions: pd.DataFrame
    retention: pd.DataFrame
    cohorts: pd.DataFrame
    rows: Coded  # the integer rows the story's counts come from
    some: Callable[[list[str]], ir.Table]  # customer ids -> the story table's query for their rows only


@dataclass
class StoryResult:
    """All story tables for one period, scheme and kind, with the periods' coverage and notes.

    The tables are built when one of them is first read (all at once); the overview and the
    retention table, what ``segmint story`` prints, are counted without them when read first
    (:func:`current_story`: the last period's segments and each period's counts), unless the
    tables were already built. :meth:`load` builds every table at once (an app reads the result from
    several threads: queries on one DuckDB connection must not run outside its lock); the story
    table's text (paths, narratives) is put together only for the customers read (:meth:`stories`),
    or for every customer when the story table is read or exported.
    """

    period: str
    scheme: str
    kind: str
    periods: pd.DataFrame  # period_index, period, period_start, period_end, as_of, coverage, partial, note
    dropped: list[cov.PeriodCoverage] = field(default_factory=list)  # partial periods left out
    notes: list[str] = field(default_factory=list)  # frequency basis, profit basis, ...
    frequency: str = "invoices"
    build: Callable[[], Parts] | None = field(default=None, repr=False)  # every table, on first read
    current: Callable[[], Current] | None = field(default=None, repr=False)  # the overview without them
    card: Callable[[str], Card] | None = field(default=None, repr=False)  # one customer's rows alone

    @cached_property
    def _parts(self) -> Parts:
        assert self.build is not None, "a StoryResult needs its build"
        return self.build()

    def _built(self) -> bool:
        return "_parts" in self.__dict__ or self.current is None

    @cached_property
    def _current(self) -> Current:
        assert self.current is not None
        return self.current()

    @property
    def period_segments(self) -> ir.Table:
        """Per customer and period (from their first active one): activity, spend, segment, reason."""
        return self._parts.period_segments

    @property
    def story_query(self) -> ir.Table:
        """The story table as an expression (``story`` runs it when first read)."""
        return self._parts.story_query

    @property
    def transitions(self) -> pd.DataFrame:
        """Migration counts between consecutive periods (pooled)."""
        return self._parts.transitions

    @property
    def cohorts(self) -> pd.DataFrame:
        """Acquisition cohort x periods since acquisition."""
        return self._parts.cohorts

    @property
    def rows(self) -> Coded:
        """The integer rows the story's counts come from."""
        return self._parts.rows

    @property
    def retention(self) -> pd.DataFrame:
        """Per period: active, new, retained, reactivated, churned, rates, purchases, revenue."""
        return self._parts.retention if self._built() else self._current.retention

    def load(self) -> StoryResult:
        """Build every table now (not on first use); returns self. The story table is read when asked
        for: a page lists some customers' stories (:meth:`stories`), not every customer's."""
        self._parts  # noqa: B018
        return self

    @cached_property
    def story(self) -> pd.DataFrame:
        """Per customer: path, current/previous segment and change date, flags, narrative (read once, on demand)."""
        return story_frame(self.story_query)

    def stories(self, customer_ids: Sequence[str]) -> pd.DataFrame:
        """The story rows of ``customer_ids`` (in story order; ids not in the story are left out): from
        the story table once it was read, else from these customers' rows alone, so that a page listing
        20 customers puts together 20 narratives, not one per customer (CDNOW: 23,502)."""
        wanted = [str(customer_id) for customer_id in customer_ids]
        if "story" in self.__dict__:
            return self.story[self.story["customer_id"].isin(wanted)].reset_index(drop=True)
        return story_frame(self._parts.some(wanted))

    @cached_property
    def segment_changes(self) -> pd.DataFrame:
        """Per customer: ``customer_id``, ``current_segment``, ``previous_segment`` and
        ``segment_changed_on``: the story table's columns read without its text (no path, no narrative)."""
        columns = ["customer_id", "current_segment", "previous_segment", "segment_changed_on"]
        if "story" in self.__dict__:
            return self.story[columns]
        return story_frame(self.story_query.select(*columns))

    def overview(self) -> pd.DataFrame:
        """Per current segment: customers, active in the last period, new, back after a gap (most customers first).

        Counted from the story's rows without its text unless the story table was already read, or
        (:func:`current_story`) without the story's tables unless they were already built.
        """
        if "story" not in self.__dict__:
            if not self._built() and self._current.overview is not None:
                return self._current.overview
            return story_overview(self.rows)
        story = self.story
        flags = story.groupby("current_segment", sort=False).agg(
            recent=("is_recent", "sum"), new=("is_new", "sum"), returned_after_gap=("returned_after_gap", "sum"))
        counts = story["current_segment"].value_counts().rename("customers")
        table = flags.reindex(counts.index).astype("int64")
        table.insert(0, "customers", counts.astype("int64"))
        return table.rename_axis("current_segment").reset_index()

    @property
    def kind_name(self) -> str:
        """``"as-of (lifecycle)"`` or ``"within-period (activity/value)"``."""
        return KIND_NAMES[self.kind]

    def describe_kind(self) -> str:
        """One sentence saying which kind of segment the story shows."""
        text = KIND_DESCRIPTIONS[self.kind].format(period=self.period)
        return f"{self.scheme} segments, {self.kind_name}: {text}"

    @property
    def partial(self) -> pd.DataFrame:
        """The partial periods kept in the story (rows of ``periods``)."""
        return self.periods[self.periods["partial"]]

    def story_row(self, customer_id: str) -> pd.Series:
        """The story row of one customer; DataError when the id is not in the story.

        From the story table once it was read (an app reads it once for every card), else from the
        customer's own rows (one card read from the command line builds no 1.2M-row story table).
        """
        card = self._card_of(str(customer_id))
        if "story" in self.__dict__:
            rows = self.story[self.story["customer_id"] == str(customer_id)]
        elif card is not None:
            rows = story_frame(card.story)
        else:
            rows = self.stories([str(customer_id)])
        if rows.empty:
            raise DataError(
                f"customer {customer_id!r} has no purchase in the story window; "
                "check the id (ids are text, leading zeros count)"
            )
        return rows.iloc[0]

    def _card_of(self, customer_id: str) -> Card | None:
        """The first card read before any table: from that customer's rows alone (later ones: from the tables)."""
        cards = self.__dict__.setdefault("_cards", {})
        if customer_id in cards:
            return cards[customer_id]
        if cards or self.card is None or "_parts" in self.__dict__ or "story" in self.__dict__:
            return None
        cards[customer_id] = self.card(customer_id)
        return cards[customer_id]

    def customer(self, customer_id: str) -> dict[str, Any]:
        """One customer's story: current/previous segment, change date, narrative and every period."""
        row = self.story_row(customer_id)
        card = self._card_of(str(customer_id))
        segments = card.period_segments if card is not None else self.period_segments
        mine = segments.filter(segments.customer_id == str(customer_id)).order_by("period_index")
        periods = mine.execute()
        record = {k: _plain(v) for k, v in row.items()}
        record["scheme"], record["kind"], record["period_kind"] = self.scheme, self.kind, self.period
        record["timeline"] = [
            {k: _plain(v) for k, v in item.items()} for item in periods.to_dict(orient="records")
        ]
        return record

    def tables(self, *, story_query: bool = False) -> dict[str, pd.DataFrame | ir.Table]:
        """Name -> table, for exporting every story table at once.

        ``story_query``: the story table as its query unless it was read already (DuckDB writes that to
        CSV without pandas, in the same text; other formats keep the pandas table's types).
        """
        return {
            "periods": self.periods,
            "period_segments": self.period_segments,
            "story": self.story_query if story_query and "story" not in self.__dict__ else self.story,
            "transitions": self.transitions,
            "retention": self.retention,
            "cohorts": self.cohorts,
        }


def _plain(value: Any) -> Any:
    """JSON-friendly scalars: NaN/NaT -> None, timestamps -> ISO dates, numpy -> Python."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


@dataclass
class Card:
    """One customer's story row and period_segments as queries over that customer's rows alone."""

    story: ir.Table
    period_segments: ir.Table
