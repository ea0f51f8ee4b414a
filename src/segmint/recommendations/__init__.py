"""Product recommendations per customer and segment, their evaluation, and product views.

A package, not ``segmint/recommend.py``: ``segmint.recommend(...)`` is the public function (in
:mod:`segmint.api`), and a submodule of the same name would replace it on import.

* :mod:`.signals`: the signals as engine (Ibis) expressions: purchase lines, own repurchase,
  item-to-item co-purchase, segment and overall favourites, candidates.
* :mod:`.settings`: ``RecommendConfig`` (what to recommend and how), ``Window``, the signal groups.
* :mod:`.blend`: the learned blend (logistic weights), its fit and the cross-validated choice.
* :mod:`.scoring`: everything as of one date: segments, signals, candidates, the blend learned on
  the inner split, the ranked top N and its reasons.
* :mod:`.model`: the whole job (``recommend_products``, ``RecommendResult``); :mod:`.scratch` its
  scratch tables.
* :mod:`.evaluation`: precision/recall/hit rate on a time split, next to baselines.
* :mod:`.products`: segment favourites, the wide single view, product sales by segment/region/period.
"""

from __future__ import annotations

from segmint.recommendations.model import RecommendResult, recommend_products
from segmint.recommendations.settings import RecommendConfig, Window

__all__ = ["RecommendConfig", "RecommendResult", "Window", "recommend_products"]
