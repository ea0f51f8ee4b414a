"""Credit risk from ledgers: bill allocation, aging, payment behaviour, an editable scorecard.

``segmint.credit(...)`` (in :mod:`segmint.api`) reads ledgers with :func:`segmint.io.ledger.read_ledger`
and calls :func:`analyze_credit`; :func:`customer_360` joins the result with sales segments.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from segmint.credit.analysis import analyze_credit
from segmint.credit.result import CREDIT_COLUMNS, CreditResult
from segmint.credit.scorecard import SEGMENTS, ScorecardConfig

__all__ = ["CREDIT_COLUMNS", "SEGMENTS", "CreditResult", "ScorecardConfig", "analyze_credit"]


class _CallableModule(types.ModuleType):
    """``segmint.credit(...)`` calls :func:`segmint.api.credit` although ``segmint.credit`` is also this
    package (Python binds a subpackage onto its parent, which would hide a function of that name)."""

    def __call__(self, *args: Any, **kwargs: Any) -> CreditResult:
        from segmint.api import credit

        return credit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
