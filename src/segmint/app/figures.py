"""The dashboard's figure builders: the library's ``segmint.charts`` (shared with the HTML report).

Page-specific figures can live here or in a figures module next to their page.
"""

from __future__ import annotations

from segmint.charts import *  # noqa: F403 - one set of chart builders for the app and the report
from segmint.charts import __all__  # noqa: F401
