"""Server-side state of the dashboard: loaded datasets and computed analyses, keyed by id.

Browser sessions keep only ids and small settings in ``dcc.Store``; everything large lives here as
immutable objects. Each dataset has its own backend connection and lock (a DuckDB connection must
not run two queries at once), and analyses are cached by (dataset, filters, scheme, config) in a
small LRU, so two users never share mutable data and repeating a view is instant.
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
from pathlib import Path
from typing import Any, TypeVar

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint.errors import DataError
from segmint.segment import get_scheme, scheme_config

log = logging.getLogger(__name__)
T = TypeVar("T")

PERIODS = ("quarter", "month", "year")


@dataclass(frozen=True)
class Filters:
    """The dashboard's global filters (None / empty = no restriction)."""

    start: str | None = None
    end: str | None = None
    countries: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    scheme: str = "rfm"
    period: str = "quarter"

    @classmethod
    def from_inputs(cls, start: Any, end: Any, countries: Any, orgs: Any, scheme: Any, period: Any) -> Filters:
        """Build from Dash component values (strings, lists or None)."""
        def as_tuple(value: Any) -> tuple[str, ...]:
            if not value:
                return ()
            return tuple(sorted(str(v) for v in ([value] if isinstance(value, str) else value)))

        return cls(
            start=(str(start)[:10] if start else None),
            end=(str(end)[:10] if end else None),
            countries=as_tuple(countries),
            orgs=as_tuple(orgs),
            scheme=scheme or "rfm",
            period=period if period in PERIODS else "quarter",
        )


@dataclass(frozen=True)
class Dataset:
    """One loaded, cleaned transactions table with its own connection; never modified after load."""

    dataset_id: str
    label: str
    con: BaseBackend
    table: ir.Table
    report: Any = None  # segmint.quality.DataQualityReport when read from files
    mapping: Any = None  # segmint.schema.ColumnMapping when read from files
    lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)

    def window(self, filters: Filters) -> ir.Table:
        """Transactions restricted to the filters' countries (dates and orgs go to the library)."""
        table = self.table
        if filters.countries:
            table = table.filter(table.country.isin(list(filters.countries)))
        return table


@dataclass(frozen=True)
class Analysis:
    """Labelled customers for one scheme, plus RFM scores for the R x F grid (materialised tables)."""

    key: str
    filters: Filters
    features: ir.Table  # customer features (materialised)
    customers: ir.Table  # features + segment, segment_order, reason (+ scheme columns)
    rfm: ir.Table  # features + r_score, f_score, m_score, RFM segment
    tx: ir.Table  # the transactions the analysis used (country-filtered)
    config: Any
    n_customers: int


class AppState:
    """Datasets and analyses of one running dashboard (created by ``create_app``, not a global)."""

    def __init__(self, *, max_analyses: int = 24, upload_root: Path | None = None) -> None:
        self._datasets: dict[str, Dataset] = {}
        self._analyses: OrderedDict[str, Analysis] = OrderedDict()
        self._stories: OrderedDict[str, Any] = OrderedDict()
        self._recommendations: OrderedDict[str, Any] = OrderedDict()
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._max = max_analyses
        self._lock = threading.Lock()
        self.upload_root = upload_root or Path(tempfile.mkdtemp(prefix="segmint-uploads-"))
        self.default_dataset_id: str | None = None

    # --- datasets ------------------------------------------------------------------------------
    def add_dataset(self, tx: Any, label: str, *, default: bool = False) -> str:
        """Register cleaned transactions (a ``Transactions`` or an Ibis table); returns its id."""
        table = getattr(tx, "table", tx)
        con = getattr(tx, "con", None) or table._find_backend()
        dataset = Dataset(
            dataset_id=uuid.uuid4().hex[:16], label=label, con=con, table=table,
            report=getattr(tx, "report", None), mapping=getattr(tx, "mapping", None),
        )
        with self._lock:
            self._datasets[dataset.dataset_id] = dataset
            if default or self.default_dataset_id is None:
                self.default_dataset_id = dataset.dataset_id
        log.info("dataset %s loaded: %s", dataset.dataset_id, label)
        return dataset.dataset_id

    def remove_dataset(self, dataset_id: str) -> None:
        """Forget a dataset (a superseded live snapshot); its cached analyses age out of the LRU."""
        with self._lock:
            self._datasets.pop(dataset_id, None)

    def dataset(self, dataset_id: str | None) -> Dataset:
        """The dataset with this id; DataError (with what to do) when there is none."""
        dataset = self._datasets.get(dataset_id or "")
        if dataset is None:
            raise DataError("no data loaded yet: upload a sales file on the Upload page")
        return dataset

    def upload_dir(self, session_id: str) -> Path:
        """This browser session's private upload directory (created on first use)."""
        safe = "".join(c for c in session_id if c.isalnum())[:32] or "anonymous"
        path = self.upload_root / safe
        path.mkdir(parents=True, exist_ok=True)
        return path

    def query(self, dataset_id: str | None, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args)`` while holding the dataset's connection lock."""
        with self.dataset(dataset_id).lock:
            return function(*args, **kwargs)

    # --- analyses ------------------------------------------------------------------------------
    def analysis(self, dataset_id: str | None, filters: Filters, overrides: dict | None = None) -> Analysis:
        """Features + segments for the filters and scheme settings (computed once, then cached)."""
        dataset = self.dataset(dataset_id)
        config = scheme_config(filters.scheme, (overrides or {}).get(filters.scheme))
        # the period only matters to stories: leave it out so changing it reuses the analysis
        key = _key(dataset.dataset_id, replace(filters, period=""), config.model_dump(mode="json"))
        with dataset.lock:
            cached = self._cached(self._analyses, key)
            if cached is not None:
                return cached
            result = _compute(dataset, filters, config, key)
            self._store(self._analyses, key, result)
            return result

    def story(self, dataset_id: str | None, filters: Filters, overrides: dict | None = None) -> Any:
        """``segmint.story.build_story`` for the filters (per-period segments, transitions, cohorts)."""
        from segmint.story import build_story

        dataset = self.dataset(dataset_id)
        config = scheme_config(filters.scheme, (overrides or {}).get(filters.scheme))
        key = _key(dataset.dataset_id, filters, config.model_dump(mode="json"))
        with dataset.lock:
            cached = self._cached(self._stories, key)
            if cached is not None:
                return cached
            result = build_story(
                dataset.window(filters), period=filters.period, scheme=filters.scheme,
                config=config, start=filters.start,
                end=filters.end, org=list(filters.orgs) or None,
            )
            self._store(self._stories, key, result)
            return result

    def recommendations(self, dataset_id: str | None, filters: Filters, overrides: dict | None = None,
                        window: str = "2M") -> Any:
        """``segmint.recommendations`` for the filters: trained up to the end date, the scheme's segments."""
        from segmint.features import filter_window
        from segmint.recommendations import RecommendConfig, recommend_products

        dataset = self.dataset(dataset_id)
        config = scheme_config(filters.scheme, (overrides or {}).get(filters.scheme))
        key = _key(dataset.dataset_id, replace(filters, period=""), {**config.model_dump(mode="json"), "window": window})
        with dataset.lock:
            cached = self._cached(self._recommendations, key)
            if cached is not None:
                return cached
            fields = dataset.mapping.fields if dataset.mapping is not None else {}
            tx = filter_window(dataset.window(filters), start=filters.start, org=list(filters.orgs) or None)
            result = recommend_products(
                tx, dataset.con, RecommendConfig.build(scheme=filters.scheme, window=window), until=filters.end,
                priced=dataset.mapping is None or bool({"amount", "unit_price"} & set(fields)),
                segment_config=config,
            )  # fmt: skip
            self._store(self._recommendations, key, result)
            return result

    def clv(self, dataset_id: str | None, filters: Filters, settings: dict[str, Any]) -> Any:
        """``segmint.btyd.analysis.customer_value`` for the filters and the Value page's settings (cached)."""
        from segmint.btyd.analysis import customer_value
        from segmint.features import filter_window

        dataset = self.dataset(dataset_id)
        key = _key(dataset.dataset_id, replace(filters, scheme="", period=""), settings)
        with dataset.lock:
            cached = self._cached(self._values, key)
            if cached is not None:
                return cached
            tx = filter_window(dataset.window(filters), end=filters.end)
            result = customer_value(tx, start=filters.start, org=list(filters.orgs) or None, **settings)
            self._store(self._values, key, result)
            return result

    def _cached(self, cache: OrderedDict, key: str) -> Any:
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        return None

    def _store(self, cache: OrderedDict, key: str, value: Any) -> None:
        with self._lock:
            cache[key] = value
            while len(cache) > self._max:
                cache.popitem(last=False)

    def close(self) -> None:
        """Remove uploaded files (connections are released with the process)."""
        shutil.rmtree(self.upload_root, ignore_errors=True)


def _key(dataset_id: str, filters: Filters, settings: dict) -> str:
    text = json.dumps([dataset_id, filters.__dict__, settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _compute(dataset: Dataset, filters: Filters, config: Any, key: str) -> Analysis:
    from segmint.engine import materialize
    from segmint.features import customer_features
    from segmint.segment import rfm

    tx = dataset.window(filters)
    features = customer_features(tx, start=filters.start, end=filters.end, org=list(filters.orgs) or None)
    features = materialize(dataset.con, features)
    n_customers = int(features.count().execute())
    if n_customers == 0:
        raise DataError("no customer with a positive net purchase for these filters; widen them")
    customers = materialize(dataset.con, get_scheme(filters.scheme).assign(features, config))
    scored = customers if filters.scheme == "rfm" else materialize(dataset.con, rfm.assign(features))
    return Analysis(key=key, filters=filters, features=features, customers=customers, rfm=scored, tx=tx,
                    config=config, n_customers=n_customers)
