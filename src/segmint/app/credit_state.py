"""The dashboard's ledgers and credit results, per dataset (beside ``AppState``'s analyses).

A dataset's ledger comes from ``create_app(ledger=...)`` / ``segmint dashboard --ledger`` or from a
workspace that holds one (``segmint demo`` and ``segmint credit --workspace`` store it there). Credit
results are computed once per (dataset, as-of date) and cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import pandas as pd

MAX_RESULTS = 8


class CreditStore:
    """Ledgers set per dataset id and cached credit results."""

    def __init__(self) -> None:
        self._ledgers: dict[str, Any] = {}
        self._results: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def set_ledger(self, dataset_id: str, ledger: Any) -> None:
        """Attach a :class:`segmint.io.ledger.Ledger` to a dataset."""
        with self._lock:
            self._ledgers[dataset_id] = ledger
            for key in [k for k in self._results if k[0] == dataset_id]:
                del self._results[key]

    def ledger(self, state: Any, dataset_id: str | None) -> Any:
        """The dataset's ledger: set explicitly, else stored in its workspace, else None."""
        dataset = state.dataset(dataset_id)
        with self._lock:
            if dataset.dataset_id in self._ledgers:
                return self._ledgers[dataset.dataset_id]
        from segmint.io.ledger import load_ledger

        with dataset.lock:
            ledger = load_ledger(dataset.con)
        if ledger is not None:
            self.set_ledger(dataset.dataset_id, ledger)
        return ledger

    def result(self, state: Any, dataset_id: str | None, as_of: str | None = None, terms: int | None = None) -> Any:
        """``CreditResult`` for the dataset's ledger as of ``as_of`` (None when it has no ledger)."""
        from segmint.credit import analyze_credit

        ledger = self.ledger(state, dataset_id)
        if ledger is None:
            return None
        dataset = state.dataset(dataset_id)
        if terms is None:
            terms = ledger.report.terms  # as the ledger was scored when it was kept in the workspace
        key = (dataset.dataset_id, f"{as_of}|{terms}")
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        lock = dataset.lock if ledger.con is dataset.con else threading.RLock()
        with lock:
            result = analyze_credit(ledger, as_of=as_of, terms=terms)
        with self._lock:
            self._results[key] = result
            while len(self._results) > MAX_RESULTS:
                self._results.popitem(last=False)
        return result


def value_risk(result: Any, features: Any) -> pd.DataFrame:
    """customer_id, value_segment, credit_segment, outstanding for the value x risk matrix."""
    from segmint.credit.customer360 import NO_SALES, value_levels

    values = value_levels(SimpleNamespace(segments={}, features=features, story=None))
    values["customer_id"] = values["customer_id"].astype(str)
    credit = result.details[["customer_id", "credit_segment", "outstanding", "credit_score"]]
    joined = credit.merge(values[["customer_id", "value_segment"]], on="customer_id", how="left")
    joined["value_segment"] = joined["value_segment"].fillna(NO_SALES)
    return joined
