"""Product recommendations per customer and segment, their evaluation, and product views.

A package, not ``segmint/recommend.py``: ``segmint.recommend(...)`` is the public function (in
:mod:`segmint.api`), and a submodule of the same name would replace it on import.

* :mod:`.signals`: the signals as engine (Ibis) expressions: purchase lines, own repurchase,
  item-to-item co-purchase, segment and overall favourites, candidates.
* :mod:`.model`: the learned blend, ranking, reasons and the whole job (``RecommendResult``).
* :mod:`.evaluation`: precision/recall/hit rate on a time split, next to baselines.
* :mod:`.products`: segment favourites, the wide single view, product sales by segment/region/period.
"""

from __future__ import annotations

from segmint.recommendations.model import RecommendConfig, RecommendResult, Window, recommend_products

__all__ = ["RecommendConfig", "RecommendResult", "Window", "recommend_products"]
