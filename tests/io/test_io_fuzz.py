"""Arbitrary CSV text never crashes reading + mapping with anything but a SegmintError."""

from __future__ import annotations

import ibis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.errors import SegmintError
from segmint.io import read_raw
from segmint.schema import apply_mapping, resolve_mapping

CELL = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
    st.sampled_from(["00001", "2023-04-01", "1,23,456.00 Dr", "Total", "", "12.5", '"q"', "Customer"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(CELL, min_size=1, max_size=5), min_size=0, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|", " "]),
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-8-sig"]),
)
def test_random_csv_text(tmp_path_factory, rows, delimiter, encoding):
    path = tmp_path_factory.mktemp("fuzz") / "random.csv"
    text = "\n".join(delimiter.join(row) for row in rows)
    path.write_bytes(text.encode(encoding, errors="replace"))
    con = ibis.duckdb.connect()
    try:
        raw = read_raw(path, con=con)
        mapping = resolve_mapping(raw)
        apply_mapping(raw, mapping).execute()
    except SegmintError:
        pass
