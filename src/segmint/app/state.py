"""Server-side state of the dashboard: loaded datasets and computed analyses, keyed by id.

Browser sessions keep only ids and small settings in ``dcc.Store``; everything large lives here as
immutable objects. Each dataset has its own backend connection and lock (a DuckDB connection must
not run two queries at once), and analyses are cached by (dataset, filters, scheme, config) in a
small LRU, so two users never share mutable data and repeating a view is instant. The filters
and what they mean to ``segmint.api`` are :mod:`segmint.app.filters`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from segmint.app.filters import PERIODS, Filters, api_window, period_config  # noqa: F401 - PERIODS lived here
from segmint.app.sessions import DEFAULT_IDLE_MINUTES, BrowserSession, Sessions, current_session_id
from segmint.errors import DataError, SegmintError
from segmint.segment import scheme_config  # noqa: F401 - importable from here, as before

if TYPE_CHECKING:
    import pandas as pd

    from segmint.api import AnalysisResult, Transactions
    from segmint.segment._config import SegmentConfig
    from segmint.story import StoryResult

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Dataset:
    """One loaded, cleaned transactions table with its own connection; never modified after load."""

    dataset_id: str
    label: str
    con: BaseBackend
    table: ir.Table
    report: Any = None  # segmint.quality.DataQualityReport when read from files
    mapping: Any = None  # segmint.schema.ColumnMapping when read from files
    owner: str | None = None  # the browser session that uploaded it; None = the server's own data
    lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)

    @cached_property
    def purchase_unit(self) -> str:
        """What a purchase is here: "invoices", or "days" when the data have no invoice column."""
        from segmint.features import purchase_unit

        return purchase_unit(self)

    @cached_property
    def choices(self) -> tuple[list[str], list[str], str | None, str | None]:
        """(countries, orgs, first day, last day) for the filter bar: read once, a dataset never changes.

        Each is a scan of every line (three of 49M lines at 1.2M customers), which every page load
        repeated before.
        """
        from segmint.app import queries

        with self.lock:
            first, last = queries.date_range(self.table)
            return (queries.distinct_values(self.table, "country"), queries.distinct_values(self.table, "org_id"),
                    first, last)

    def transactions(self) -> Transactions:
        """The dataset as ``segmint.api`` takes it."""
        from segmint.api import Transactions

        return Transactions(self.table, self.con, self.mapping, self.report, label=self.label)


@dataclass(frozen=True)
class Analysis:
    """``segmint.api.analyze`` for one scheme and the dashboard's filters (the pipeline the CLI runs).

    Read ``rfm`` and ``summary()`` while holding the dataset's lock (``AppState.query``): they are
    computed on first use.
    """

    key: str
    filters: Filters
    result: AnalysisResult

    @property
    def features(self) -> ir.Table:
        """Customer features (materialised)."""
        return self.result.features

    @property
    def customers(self) -> ir.Table:
        """Features + segment, segment_order, reason (+ the scheme's own columns)."""
        return self.result.segments[self.filters.scheme]

    @property
    def rfm(self) -> ir.Table:
        """Features + R, F, M scores for the R x F grid (the rfm segments, or computed once)."""
        return self.result.rfm_scores()

    @property
    def tx(self) -> ir.Table:
        """The transactions the analysis used (every filter applied)."""
        return self.result.window

    @property
    def config(self) -> SegmentConfig:
        """The scheme's settings the analysis ran with."""
        return self.result.configs[self.filters.scheme]

    @property
    def n_customers(self) -> int:
        """Customers with a positive net purchase value in the window."""
        return self.result.n_customers

    def summary(self) -> pd.DataFrame:
        """KPIs per segment with strategies (``segmint.report.segment_summary``)."""
        return self.result.summaries[self.filters.scheme]


class AppState:
    """Datasets and analyses of one running dashboard (created by ``create_app``, not a global)."""

    def __init__(self, *, max_analyses: int = 24, upload_root: Path | None = None,
                 upload_idle_minutes: float = DEFAULT_IDLE_MINUTES) -> None:  # fmt: skip
        self._datasets: dict[str, Dataset] = {}
        self._analyses: OrderedDict[str, Analysis] = OrderedDict()
        self._stories: OrderedDict[str, Any] = OrderedDict()
        self._recommendations: OrderedDict[str, Any] = OrderedDict()
        self._owner: dict[str, tuple[str, OrderedDict]] = {}  # key -> (dataset id, its cache)
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._max = max_analyses
        self._lock = threading.Lock()
        self.upload_root = upload_root or Path(tempfile.mkdtemp(prefix="segmint-uploads-"))
        self.sessions = Sessions(self.upload_root, idle_minutes=upload_idle_minutes)
        self.default_dataset_id: str | None = None
        from segmint.app.credit_state import CreditStore

        self.credit = CreditStore()  # ledgers and credit results per dataset (the Credit page)

    # --- datasets ------------------------------------------------------------------------------
    def add_dataset(self, tx: Any, label: str, *, default: bool = False, owner: str | None = None) -> str:
        """Register cleaned transactions (a ``Transactions`` or an Ibis table); returns its id.

        ``owner`` = the browser session that uploaded it: only that session sees it, and it never
        becomes the default others start on.
        """
        table = getattr(tx, "table", tx)
        con = getattr(tx, "con", None) or table._find_backend()
        dataset = Dataset(
            dataset_id=uuid.uuid4().hex, label=label, con=con, table=table,
            report=getattr(tx, "report", None), mapping=getattr(tx, "mapping", None), owner=owner,
        )
        with self._lock:
            self._datasets[dataset.dataset_id] = dataset
            if owner is None and (default or self.default_dataset_id is None):
                self.default_dataset_id = dataset.dataset_id
        if owner is not None:
            session = self.sessions.touch(owner)
            session.dataset_ids.add(dataset.dataset_id)
            session.current_dataset_id = dataset.dataset_id
        log.info("dataset %s loaded: %s", dataset.dataset_id[:8], label)
        return dataset.dataset_id

    def remove_dataset(self, dataset_id: str) -> None:
        """Forget a dataset (a superseded live snapshot) and every result cached for it."""
        with self._lock:
            self._datasets.pop(dataset_id, None)
            for key, (owner, cache) in list(self._owner.items()):
                if owner == dataset_id:
                    cache.pop(key, None)
                    del self._owner[key]

    def dataset(self, dataset_id: str | None) -> Dataset:
        """The dataset with this id; DataError (with what to do) when there is none or it is not ours."""
        dataset = self._datasets.get(dataset_id or "")
        if dataset is None or not self._visible(dataset):
            raise DataError("no data loaded yet: upload a sales file on the Upload page")
        return dataset

    def priced(self, dataset_id: str | None) -> bool:
        """Whether the dataset's amounts are money (False for a basket log read with ``unpriced="units"``:
        its amounts count items, and the pages say items)."""
        from segmint.units import has_prices

        return has_prices(self.dataset(dataset_id).mapping)

    def _visible(self, dataset: Dataset) -> bool:
        """Server data is everyone's; an upload only its session's (no request = library use)."""
        session_id = current_session_id()
        return dataset.owner is None or session_id is None or dataset.owner == session_id

    def start_dataset_id(self) -> str | None:
        """What a page load shows: the session's last upload (survives a reload), else the server's data."""
        session = self.sessions.get(current_session_id())
        if session is not None and session.current_dataset_id in self._datasets:
            return session.current_dataset_id
        return self.default_dataset_id

    def forget_sessions(self, sessions: list[BrowserSession]) -> None:
        """Drop the datasets (and cached analyses) of sessions whose uploads were deleted."""
        gone = {dataset_id for session in sessions for dataset_id in session.dataset_ids}
        with self._lock:
            for dataset_id in gone:
                self._datasets.pop(dataset_id, None)
            for cache in (self._analyses, self._stories):
                for key in [k for k in cache if k.split(":", 1)[0] in gone]:
                    del cache[key]

    def query(self, dataset_id: str | None, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args)`` while holding the dataset's connection lock."""
        with self.dataset(dataset_id).lock:
            return function(*args, **kwargs)

    # --- analyses ------------------------------------------------------------------------------
    def analysis(self, dataset_id: str | None, filters: Filters, overrides: dict | None = None) -> Analysis:
        """Features + segments for the filters and scheme settings (computed once, then cached)."""
        dataset = self.dataset(dataset_id)
        config = period_config(filters, overrides)
        # the period matters to stories (and to RFM's newness window, which is in the config):
        # leave it out so changing it reuses the analysis of the other schemes
        key = _key(dataset.dataset_id, replace(filters, period=""), config.model_dump(mode="json"))
        with dataset.lock:
            cached = self._cached(self._analyses, key)
            if cached is not None:
                return cached
            result = _compute(dataset, filters, config, key)
            self._store(self._analyses, key, result, dataset.dataset_id)
            return result

    def warm(self, dataset_id: str) -> None:
        """Compute the first view's analysis now (default filters), so the first page load finds it ready.

        A failure is left for the page to show (it raises the same error when it asks).
        """
        from segmint.errors import SegmintError

        try:
            self.dataset(dataset_id).choices  # noqa: B018 - the filter bar's options, read once
            self.analysis(dataset_id, Filters())
        except SegmintError as exc:
            log.info("dataset %s not warmed: %s", dataset_id, exc)

    def story(
        self, dataset_id: str | None, filters: Filters, overrides: dict | None = None, kind: str | None = None
    ) -> StoryResult:
        """``segmint.api.story`` for the filters (per-period segments, transitions, cohorts).

        ``kind`` is as_of or within_period (None: the scheme's default); the scheme's config is the
        analysis's, so the story's current segment is the analysis's segment (as-of kinds).
        """
        from segmint import api
        from segmint.story import default_kind

        dataset = self.dataset(dataset_id)
        config = period_config(filters, overrides)
        # None means the scheme's default kind: key it as that kind, or the page's first request (no kind
        # chosen yet) and the next ones (the radio's value) computed the same story twice
        kind = kind or default_kind(filters.scheme)
        key = _key(dataset.dataset_id, filters, [config.model_dump(mode="json"), kind])
        with dataset.lock:
            cached = self._cached(self._stories, key)
            if cached is not None:
                return cached
            result = api.story(
                dataset.transactions(), period=filters.period, scheme=filters.scheme, kind=kind,  # type: ignore[arg-type]
                config={filters.scheme: config}, frequency=dataset.purchase_unit, **api_window(filters),
            )
            # the story's tables are built when first read; pages read them from several request threads at
            # once, and two queries on one DuckDB connection from two threads hang: build them here, under the lock
            result.load()
            self._store(self._stories, key, result, dataset.dataset_id)
            return result

    def recommendations(self, dataset_id: str | None, filters: Filters, overrides: dict | None = None,
                        window: str = "2M", picks: bool = True) -> Any:
        """``segmint.api.recommend`` for the filters: trained up to the end date, the scheme's segments.

        ``picks=False``: the product views only (what the Products page shows before a customer is
        asked for), without the learned blend that is most of the time; a cached full result serves too.
        """
        from segmint import api

        dataset = self.dataset(dataset_id)
        config = period_config(filters, overrides)  # the segments the analysis and the story show
        settings = {**config.model_dump(mode="json"), "window": window}
        key = _key(dataset.dataset_id, replace(filters, period=""), settings)
        views_key = _key(dataset.dataset_id, replace(filters, period=""), {**settings, "picks": False})
        with dataset.lock:
            cached = self._cached(self._recommendations, key)
            if cached is None and not picks:
                cached = self._cached(self._recommendations, views_key)
            if cached is not None:
                return cached
            result = api.recommend(
                dataset.transactions(), until=filters.end, start=filters.start, org=list(filters.orgs) or None,
                country=list(filters.countries) or None, scheme=filters.scheme, window=window,
                segment_config=config, picks=picks,
            )  # fmt: skip
            self._store(self._recommendations, key if picks else views_key, result, dataset.dataset_id)
            return result

    def clv(self, dataset_id: str | None, filters: Filters, settings: dict[str, Any]) -> Any:
        """``segmint.api.clv`` for the filters and the Value page's settings (cached).

        Its RFM segments (as of the end of data) are the cached default RFM analysis's, as ``segmint clv``
        computes them: not a second pass over the lines.
        """
        from segmint import api

        dataset = self.dataset(dataset_id)
        key = _key(dataset.dataset_id, replace(filters, scheme="", period=""), settings)
        with dataset.lock:
            cached = self._cached(self._values, key)
            if cached is not None:
                return cached
            segments: Any = True
            if settings.get("calibration_end") is None:
                try:
                    segments = self.analysis(dataset_id, replace(filters, scheme="rfm", period="quarter")).result
                except SegmintError:  # no segments here: api.clv says why and values the customers anyway
                    pass
            result = api.clv(dataset.transactions(), segments=segments, **api_window(filters), **settings)
            self._store(self._values, key, result, dataset.dataset_id)
            return result

    def customers_with_story(self, dataset_id: str | None, filters: Filters, overrides: dict | None = None) -> ir.Table:
        """The analysis's customers plus the as-of story's previous segment and change date (cached).

        For as-of schemes the story's current segment is the analysis's ``segment``, so the Customers
        page, the story card and exports show one current segment with its history.
        """
        dataset = self.dataset(dataset_id)
        analysis = self.analysis(dataset_id, filters, overrides)
        key = "customers-story:" + _key(dataset.dataset_id, filters, analysis.key)
        cached = self._cached(self._stories, key)
        if cached is not None:
            return cached
        story = self.story(dataset_id, filters, overrides)
        with dataset.lock:
            frame = story.segment_changes[["customer_id", "previous_segment", "segment_changed_on"]].copy()
            frame["segment_changed_on"] = pd.to_datetime(frame["segment_changed_on"]).dt.date
            fields = dataset.con.create_table(f"segmint_app_story_{key[-24:]}", frame, temp=True, overwrite=True)
            table = analysis.customers.left_join(fields, "customer_id").drop("customer_id_right")
        self._store(self._stories, key, table)
        return table

    def _cached(self, cache: OrderedDict, key: str) -> Any:
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        return None

    def _store(self, cache: OrderedDict, key: str, value: Any, dataset_id: str | None = None) -> None:
        with self._lock:
            cache[key] = value
            if dataset_id is not None:
                self._owner[key] = (dataset_id, cache)
            while len(cache) > self._max:
                self._owner.pop(cache.popitem(last=False)[0], None)

    def close(self) -> None:
        """Delete every uploaded file and forget the uploads (server shutdown)."""
        self.forget_sessions(self.sessions.close())
        shutil.rmtree(self.upload_root, ignore_errors=True)


def _key(dataset_id: str, filters: Filters, settings: Any) -> str:
    text = json.dumps([dataset_id, filters.__dict__, settings], sort_keys=True, default=str)
    return f"{dataset_id}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"  # dataset first: see forget_sessions


def _compute(dataset: Dataset, filters: Filters, config: SegmentConfig, key: str) -> Analysis:
    """The one pipeline: ``segmint.api.analyze`` on the dataset for the filters and the scheme's settings."""
    from segmint import api

    result = api.analyze(
        dataset.transactions(), scheme=filters.scheme, config={filters.scheme: config}, **api_window(filters)
    )
    return Analysis(key=key, filters=filters, result=result)
