"""The scheme registry: one list for every caller, one way to build configs, Ibis tables from every scheme."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest
from pydantic import Field

from segmint.errors import ConfigError
from segmint.segment import (
    assign_segments,
    available_schemes,
    get_scheme,
    register_scheme,
    scheme_config,
    scheme_names,
)
from segmint.segment._config import SegmentConfig

FEATURES = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "recency_days": [1, 5, 30, 60, 200, 400],
        "frequency": [9, 6, 3, 2, 1, 1],
        "monetary": [900.0, 400.0, 120.0, 60.0, 20.0, 10.0],
        "revenue": [900.0, 400.0, 120.0, 60.0, 20.0, 10.0],
        "avg_order_value": [100.0, 66.0, 40.0, 30.0, 20.0, 10.0],
    }
)


# --- a scheme defined outside the package (this module), as a plug-in would ---------------------
class HalvesConfig(SegmentConfig):
    """Customers at or above ``threshold`` revenue are 'Top', the rest 'Rest'."""

    threshold: float = Field(default=100.0, gt=0)


def assign(features: ir.Table, config: HalvesConfig | None = None) -> ir.Table:
    config = config or HalvesConfig()
    top = features.revenue >= config.threshold
    return features.mutate(
        segment=top.ifelse("Top", "Rest"), segment_order=top.ifelse(1, 0).cast("int64"),
        reason="revenue " + features.revenue.cast("string") + top.ifelse(" >= ", " < ") + str(config.threshold),
    )


@pytest.fixture()
def halves():
    from segmint import segment

    scheme = register_scheme("halves", __name__, "HalvesConfig", title="Halves")
    yield scheme
    segment._REGISTRY.pop("halves")


def test_builtin_schemes_in_one_list() -> None:
    assert scheme_names()[:4] == ("rfm", "levels", "tiers", "clusters")
    assert set(available_schemes()) >= {"rfm", "levels", "tiers", "clusters"}
    with pytest.raises(ConfigError, match="unknown scheme 'bogus'; choose one of rfm, levels") as info:
        get_scheme("bogus")
    assert info.value.field == "scheme" and info.value.value == "bogus"
    assert info.value.fix.option == "scheme" and "rfm" in info.value.fix.choices


@pytest.mark.parametrize("name", ["rfm", "levels", "tiers", "clusters"])
def test_every_scheme_returns_an_ibis_table_in_the_input_backend(name) -> None:
    con = ibis.duckdb.connect()
    features = con.create_table("features", FEATURES)
    config = {"k": 2} if name == "clusters" else {"n_buckets": 3} if name == "tiers" else None
    labelled = assign_segments(features, name, config)
    assert isinstance(labelled, ir.Table)
    assert labelled._find_backend() is con
    out = labelled.execute()
    assert sorted(out.customer_id) == list(FEATURES.customer_id)
    assert {"segment", "segment_order", "reason"} <= set(out.columns)
    assert out.dtypes["segment_order"] == "int64"


def test_one_way_to_build_a_config() -> None:
    from segmint.segment.rfm import RFMConfig

    assert scheme_config("rfm") == RFMConfig()
    assert scheme_config("rfm", {"bins": 4}).bins == 4
    given = RFMConfig(bins=3)
    assert scheme_config("rfm", given) is given
    with pytest.raises(ConfigError, match=r"bins: Input should be greater than or equal to 3") as info:
        scheme_config("rfm", {"bins": 2})
    assert "https://" not in str(info.value)  # no pydantic URL in what people read
    assert info.value.field == "bins" and info.value.value == 2


def test_a_registered_scheme_runs_through_analyze_and_config_sections(halves) -> None:
    from test_features import ROW_COLUMNS, ROWS, canonical  # the 12-row fixture

    from segmint.api import analyze, load_analysis_config

    assert "halves" in scheme_names() and halves.title == "Halves"
    tx = canonical(pd.DataFrame(ROWS, columns=ROW_COLUMNS))
    # revenue by hand on the fixture: A 15, B 190, D 6; threshold 10 -> A and B on top
    result = analyze(tx, scheme="all", config={"halves": {"threshold": 10}, "clusters": {"k": 2}})
    assert list(result.segments) == [*scheme_names()]
    halves_out = result.segments["halves"].execute().set_index("customer_id")
    assert halves_out.segment.to_dict() == {"A": "Top", "B": "Top", "D": "Rest"}
    assert result.summaries["halves"].set_index("segment").customers.to_dict() == {"Top": 2, "Rest": 1}
    assert load_analysis_config({"halves": {}})["halves"] == HalvesConfig()
    with pytest.raises(ConfigError, match="already registered"):
        register_scheme("halves", __name__, "HalvesConfig")
