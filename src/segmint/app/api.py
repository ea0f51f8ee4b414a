"""Read-only JSON/CSV API on the dashboard server (in the spirit of Datasette).

``/api/summary``, ``/api/segments/<scheme>``, ``/api/customers/<id>`` answer from the same cached
analyses as the pages, with the same filters as query parameters (``start``, ``end``, ``country``,
``org``, ``scheme``, ``period``). Per-customer results of other analyses (credit, CLV,
recommendations, ...) plug in with :func:`register_customer_result`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from flask import Flask, Response, request

from segmint.app.filters import PERIODS, Filters
from segmint.app.state import AppState
from segmint.segment import available_schemes, scheme_names
from segmint.errors import ConfigError, DataError, SegmintError
from segmint.money import export_decimals, round_numbers
from segmint.units import item_columns

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
# (state, dataset id, filters) -> an object with .customer(customer_id), or None when the dataset has no such result
CustomerResult = Callable[[AppState, "str | None", Filters], Any]
CUSTOMER_RESULTS: dict[str, CustomerResult] = {}


def register_customer_result(name: str, source: CustomerResult) -> None:
    """Add a section ``name`` to ``/api/customers/<id>``: ``source(...)`` returns a result whose
    ``.customer(id)`` gives a dict (or None when the dataset has no such result, e.g. no ledger)."""
    CUSTOMER_RESULTS[name] = source


def _story(state: AppState, dataset_id: str | None, filters: Filters) -> Any:
    return state.story(dataset_id, filters)


register_customer_result("story", _story)


def _recommendations(state: AppState, dataset_id: str | None, filters: Filters) -> Any:
    return state.recommendations(dataset_id, filters)


register_customer_result("recommendations", _recommendations)


# --- request parsing -------------------------------------------------------------------------
def _date(name: str) -> str | None:
    value = request.args.get(name) or None
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a date; use YYYY-MM-DD") from None


def _many(name: str) -> list[str]:
    values = []
    for item in request.args.getlist(name):
        values += [part.strip() for part in item.split(",") if part.strip()]
    return values


def request_filters(scheme: str | None = None) -> Filters:
    """The pages' global filters from query parameters; ConfigError names a bad one."""
    scheme = scheme or request.args.get("scheme") or "rfm"
    if scheme not in available_schemes():
        raise ConfigError(f"scheme={scheme!r} is unknown; choose one of {', '.join(available_schemes())}")
    period = request.args.get("period") or "quarter"
    if period not in PERIODS:
        raise ConfigError(f"period={period!r} is unknown; choose one of {', '.join(PERIODS)}")
    return Filters.from_inputs(_date("start"), _date("end"), _many("country"), _many("org"), scheme, period)


def _positive_int(name: str, default: int, ceiling: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not 1 <= value <= ceiling:
        raise ConfigError(f"{name}={value} is out of range; use 1 to {ceiling:,}")
    return value


# --- JSON / CSV ------------------------------------------------------------------------------
def plain(value: Any, key: str = "") -> Any:
    """JSON-safe Python value: numpy/pandas scalars unwrapped, NaN -> None, dates ISO, a float under a
    key rounded as exports round that column (money to the cent, shares to 4 places, means to 2)."""
    if isinstance(value, dict):
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [plain(v, key) for v in list(value)]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, export_decimals(key)) + 0.0 if key else value
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.isoformat() if (value.hour, value.minute, value.second) != (0, 0, 0) else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_response(payload: Any, status: int = 200) -> Response:
    import json

    return Response(json.dumps(plain(payload), ensure_ascii=False, indent=1), status=status,
                    mimetype="application/json")


def csv_response(frame: pd.DataFrame, filename: str) -> Response:
    """CSV with numbers rounded in fixed point, money to the cent and spreadsheet-formula triggers neutralised (as in exports)."""
    from segmint.exports import floats_as_text, neutralise_formulas

    out = floats_as_text(round_numbers(neutralise_formulas(frame)))
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- answers ---------------------------------------------------------------------------------
def data_as_of(state: AppState, dataset_id: str | None, analysis: Any, live: Any = None) -> dict[str, Any]:
    """Which data answered: dataset label, first/last transaction, and the live workspace's last import."""
    from segmint.app import queries

    dataset = state.dataset(dataset_id)
    first, last = state.query(dataset_id, queries.date_range, analysis.tx)
    answer: dict[str, Any] = {"dataset": dataset.label, "first_transaction": first, "last_transaction": last}
    if live is not None and live.status.dataset_id == dataset.dataset_id:
        answer["workspace"] = live.status.as_dict()
    return answer


def summary(state: AppState, dataset_id: str | None, filters: Filters, live: Any = None) -> dict[str, Any]:
    """Customers, revenue, orders and per-segment counts for the filters (the Overview's numbers)."""
    from segmint.app import queries

    analysis = state.analysis(dataset_id, filters)
    kpis = state.query(dataset_id, queries.kpis, analysis.customers)
    table = state.query(dataset_id, analysis.summary)
    segments = [
        {"segment": row.segment, "customers": int(row.customers), "share_of_customers": row.share_of_customers,
         "revenue": row.revenue, "share_of_revenue": row.share_of_revenue, "aov": row.aov,
         "mean_recency_days": row.mean_recency_days, "mean_frequency": row.mean_frequency,
         "strategy": row.strategy}
        for row in table.itertuples()
    ]
    priced = state.priced(dataset_id)
    return item_columns({
        "scheme": filters.scheme,
        "filters": _filters_dict(filters),
        "amounts": "money" if priced else "items",
        "customers": kpis["customers"],
        "revenue": kpis["revenue"],
        "orders": int(kpis["orders"]),
        "aov": kpis["aov"],
        "segments": [item_columns(row, priced) for row in segments],
        "data_as_of": data_as_of(state, dataset_id, analysis, live),
    }, priced)


def segment_rows(state: AppState, dataset_id: str | None, filters: Filters, segment: list[str]) -> Any:
    """The labelled customers (an Ibis table) of the scheme, optionally only some segments."""
    analysis = state.analysis(dataset_id, filters)
    table = analysis.customers
    if segment:
        table = table.filter(table.segment.isin(segment))
    priced = state.priced(dataset_id)
    return item_columns(table.order_by("customer_id"), priced)


def customer(state: AppState, dataset_id: str | None, filters: Filters, customer_id: str) -> dict[str, Any]:
    """Features, the segment in every scheme, the story and every registered per-customer result."""
    from segmint.app import queries

    analysis = state.analysis(dataset_id, filters)
    row = state.query(dataset_id, queries.customer_row, analysis.customers, customer_id)
    if row is None:
        raise DataError(f"customer {customer_id!r} has no positive net purchase for these filters; "
                        "check the id (ids are text, leading zeros count) and the filters")
    priced = state.priced(dataset_id)
    features = item_columns({name: row.get(name) for name in analysis.features.columns}, priced)
    answer: dict[str, Any] = {"customer_id": customer_id, "features": features, "segments": {}}
    for scheme in available_schemes():
        try:
            labelled = state.analysis(dataset_id, replace(filters, scheme=scheme))
            mine = state.query(dataset_id, queries.customer_row, labelled.customers, customer_id) or {}
        except SegmintError as exc:
            answer["segments"][scheme] = {"error": str(exc)}
            continue
        # what the scheme adds to the features, named as the features are (tiers' sales is their revenue)
        answer["segments"][scheme] = {k: v for k, v in item_columns(mine, priced).items() if k not in features}
    for name, source in CUSTOMER_RESULTS.items():
        try:
            result = source(state, dataset_id, filters)
            if result is None:
                continue
            section = result.customer(customer_id)
        except SegmintError as exc:
            answer[name] = {"error": str(exc)}
            continue
        except Exception as exc:  # noqa: BLE001 - one failing section must not hide the others
            log.exception("customer section %s failed", name)
            answer[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        section = section.to_dict() if isinstance(section, pd.Series) else section
        answer[name] = item_columns(section, priced) if isinstance(section, dict) else section
    return answer


def _filters_dict(filters: Filters) -> dict[str, Any]:
    return {"start": filters.start, "end": filters.end, "country": list(filters.countries),
            "org": list(filters.orgs), "scheme": filters.scheme, "period": filters.period}


ROUTES = {
    "/api/summary": "customers, revenue, orders and per-segment counts (?scheme=rfm)",
    "/api/segments/<scheme>": "customers with their segment, paged (?page=1&page_size=100&segment=Champions), "
                              "or every row as CSV (?format=csv)",
    "/api/customers/<customer_id>": "features, segment in every scheme, story and other per-customer results",
}
FILTERS_HELP = {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD", "country": "repeatable or comma-separated",
                "org": "repeatable or comma-separated", "scheme": ", ".join(scheme_names()),
                "period": "quarter, month or year (stories)", "dataset": "a dataset id (default: the served data)"}


def register(server: Flask, state: AppState, live: Any = None) -> None:
    """Add the ``/api/...`` routes to the dashboard's Flask server."""

    def dataset_id() -> str | None:
        return request.args.get("dataset") or state.default_dataset_id

    def answer(work: Callable[[], Response | dict]) -> Response:
        try:
            result = work()
            return result if isinstance(result, Response) else json_response(result)
        except DataError as exc:
            return json_response({"error": str(exc)}, 404)
        except SegmintError as exc:
            return json_response({"error": str(exc)}, 400)

    @server.route("/api")
    @server.route("/api/")
    def api_index() -> Response:
        return json_response({"routes": ROUTES, "filters": FILTERS_HELP, "schemes": available_schemes()})

    @server.route("/api/summary")
    def api_summary() -> Response:
        return answer(lambda: summary(state, dataset_id(), request_filters(), live))

    @server.route("/api/segments/<scheme>")
    def api_segments(scheme: str) -> Response:
        def work() -> Response | dict:
            filters = request_filters(scheme)
            table = segment_rows(state, dataset_id(), filters, _many("segment"))
            fmt = request.args.get("format", "json")
            if fmt not in ("json", "csv"):
                raise ConfigError(f"format={fmt!r} is unknown; use json or csv")
            if fmt == "csv" and "page" not in request.args:
                frame = state.query(dataset_id(), table.execute)
                return csv_response(frame, f"segments_{scheme}.csv")
            page = _positive_int("page", 1, 10**9)
            size = _positive_int("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            total, frame = state.query(
                dataset_id(), lambda: (int(table.count().execute()),
                                       table.limit(size, offset=(page - 1) * size).execute()))
            if fmt == "csv":
                return csv_response(frame, f"segments_{scheme}_page{page}.csv")
            pages = max(1, math.ceil(total / size))
            return {"scheme": scheme, "total": total, "page": page, "page_size": size, "pages": pages,
                    "next": page + 1 if page < pages else None, "filters": _filters_dict(filters),
                    "rows": frame.to_dict("records")}

        return answer(work)

    @server.route("/api/customers/<path:customer_id>")
    def api_customer(customer_id: str) -> Response:
        return answer(lambda: customer(state, dataset_id(), request_filters(), customer_id))
