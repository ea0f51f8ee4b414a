"""The cache of compiled SQL (segmint.sql_cache): a key that names the whole expression, the same in
every process; cached SQL equal to a fresh compile; bad entries ignored; off when asked."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import ibis
import pytest

from segmint import engine, sql_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMINT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SEGMINT_SQL_CACHE", raising=False)
    return tmp_path / "sql"


def _fresh(con, expr, limit=None) -> str:
    """What Ibis compiles, without the cache."""
    return type(con).__mro__[1].compile(con, expr, limit=limit)


def _sales(con, amount="float64"):
    """A materialised table (a new name each call) of three sales lines."""
    data = {"customer_id": ["a", "b", "a"], "amount": [1.5, 2.0, 3.25], "day": [dt.date(2024, 1, d) for d in (1, 2, 3)]}
    return engine.materialize(con, ibis.memtable(data, schema={"customer_id": "string", "amount": amount, "day": "date"}))


def _query(table, threshold=2.0, column="amount", since=dt.date(2024, 1, 2)):
    kept = table.filter((table[column] >= threshold) & (table.day >= since))
    return kept.group_by("customer_id").aggregate(total=kept[column].sum(), last=kept.day.max()).order_by("customer_id")


def test_what_changes_the_sql_changes_the_key(cache):
    con = engine.connect()
    sales = _sales(con)
    key = sql_cache.expression_key(con, _query(sales))
    assert sql_cache.expression_key(con, _query(sales)) == key  # the same expression built again
    changed = {
        "literal": _query(sales, threshold=2.5),
        "literal type": _query(sales, threshold=2),
        "date literal": _query(sales, since=dt.date(2024, 1, 3)),
        "column": _query(sales.mutate(price=sales.amount), column="price"),
        "table": _query(con.create_table("sales", _sales(con).execute())),  # not a session table
        "dtype": _query(_sales(con, amount="float32")),
        "operation": _query(sales).mutate(total=ibis._.total.round(2)),
        "kind of expression": _query(sales).total,
    }
    keys = {what: sql_cache.expression_key(con, expr) for what, expr in changed.items()}
    keys["limit"] = sql_cache.expression_key(con, _query(sales), limit=10)
    assert key not in keys.values()
    assert len(set(keys.values())) == len(keys)


def test_session_tables_are_named_by_their_place_and_the_sql_by_their_names(cache):
    """A session table's name depends on what the process did before (the dashboard's pages, in any
    order): the same query over another session table of the same columns has the same key, and the
    SQL read back names the tables of the query asked for."""
    con = engine.connect()
    first, second = _sales(con), _sales(con)
    joined = _query(first).join(second.select("customer_id", n=second.amount), "customer_id")
    swapped = _query(second).join(first.select("customer_id", n=first.amount), "customer_id")
    assert sql_cache.expression_key(con, _query(first)) == sql_cache.expression_key(con, _query(second))
    assert sql_cache.expression_key(con, joined) == sql_cache.expression_key(con, swapped)
    cold = con.compile(_query(first))
    (entry,) = cache.iterdir()
    assert first.op().name not in entry.read_text()
    for table, expr in ((second, _query(second)), (first, _query(first))):
        calls = []
        sql = sql_cache.compile_cached(con, expr, lambda: calls.append(1) or "", None)
        assert calls == [] and sql == _fresh(con, expr) and f'"{table.op().name}"' in sql
    assert cold == _fresh(con, _query(first))
    con.compile(joined)
    calls = []
    assert sql_cache.compile_cached(con, swapped, lambda: calls.append(1) or "", None) == _fresh(con, swapped)
    assert calls == [] and con.to_pyarrow(swapped).num_rows == 3


def test_cached_sql_equals_a_fresh_compile_and_is_read_back(cache):
    con = engine.connect()
    sales = _sales(con)
    exprs = [_query(sales), _query(sales).total, sales.amount.sum(), sales.filter(sales.customer_id.isin(["a", "z"]))]
    cold = [con.compile(e) for e in exprs]
    assert len(list(cache.iterdir())) == len(exprs)
    assert cold == [_fresh(con, e) for e in exprs]
    calls = []
    warm = [sql_cache.compile_cached(con, e, lambda: calls.append(1) or "", None) for e in exprs]
    assert warm == cold and calls == []  # every one from its entry, none compiled again
    assert con.compile(sales.limit(2)) == _fresh(con, sales.limit(2))
    assert con.to_pyarrow(_query(sales)).to_pylist() == [
        {"customer_id": "a", "total": 3.25, "last": dt.date(2024, 1, 3)},
        {"customer_id": "b", "total": 2.0, "last": dt.date(2024, 1, 2)},
    ]


def test_a_stale_or_corrupt_entry_is_ignored_and_rewritten(cache):
    con = engine.connect()
    expr = _query(_sales(con))
    right = con.compile(expr)
    (entry,) = cache.iterdir()
    entry.write_text(entry.read_text().replace("SUM", "MAX"))  # the SQL no longer matches its hash
    assert con.compile(expr) == right
    entry.write_bytes(b"\xff\xfe not text")
    assert con.compile(expr) == right
    assert con.compile(expr) == right and "SUM" in entry.read_text()


def test_off_when_asked_and_never_for_what_the_key_cannot_name(cache, monkeypatch):
    con = engine.connect()
    in_memory = ibis.memtable({"x": [1, 2]})  # its data are no part of any key
    assert con.compile(in_memory.x.sum()) == _fresh(con, in_memory.x.sum())
    assert not cache.exists()
    with pytest.raises(sql_cache.Uncacheable):
        sql_cache.expression_key(con, in_memory.x.sum())
    monkeypatch.setenv("SEGMINT_SQL_CACHE", "0")
    expr = _query(_sales(con))
    assert con.compile(expr) == _fresh(con, expr)
    assert not cache.exists()


def test_the_key_is_the_same_in_another_process(cache):
    """Another interpreter (another hash seed) building the same expression finds the same key, and a
    second run of the same command compiles nothing: every query's SQL comes from the cache."""
    script = textwrap.dedent("""
        import datetime as dt
        import ibis
        from segmint import engine, sql_cache
        con = engine.connect()
        con.raw_sql("CREATE TEMP TABLE sales (customer_id TEXT, amount DOUBLE, day DATE)")
        sales = con.table("sales")
        kept = sales.filter((sales.amount >= 2.0) & (sales.day >= dt.date(2024, 1, 2)))
        expr = kept.group_by("customer_id").aggregate(total=kept.amount.sum(), n=kept.count())
        print(sql_cache.expression_key(con, expr.order_by("customer_id")))
    """)
    keys = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()  # fmt: skip
        for seed in ("1", "2")
    }
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_a_second_run_of_analyze_compiles_nothing_and_writes_the_same_files(cache, tmp_path):
    source = tmp_path / "sales.csv"
    source.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "A1,c1,2024-01-05,2,10.50\nA2,c2,2024-02-05,1,3.25\nA3,c1,2024-03-01,1,8.00\nA4,c3,2024-03-02,5,1.10\n"
    )
    outputs = []
    for run in ("cold", "warm"):
        out = tmp_path / run
        subprocess.run([sys.executable, "-m", "segmint.cli", "analyze", str(source), "--scheme", "rfm", "--out",
                        str(out)], capture_output=True, text=True, check=True)  # fmt: skip
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
        if run == "cold":
            entries = {p.name: (p.stat().st_ino, p.read_bytes()) for p in cache.iterdir()}
    assert len(entries) > 10
    assert {p.name: (p.stat().st_ino, p.read_bytes()) for p in cache.iterdir()} == entries  # nothing new or rewritten
    assert outputs[0] == outputs[1] and "segments_rfm.csv" in outputs[0]


def test_the_cache_keeps_a_bounded_number_of_entries(cache, monkeypatch):
    monkeypatch.setattr(sql_cache, "MAX_ENTRIES", 4)
    monkeypatch.setattr(sql_cache, "PRUNE_EVERY", 1)
    con = engine.connect()
    sales = _sales(con)
    for threshold in range(7):
        con.compile(_query(sales, threshold=float(threshold)))
    assert len(list(cache.iterdir())) <= 4


def test_an_entry_others_may_change_is_not_trusted(cache):
    con = engine.connect()
    expr = _query(_sales(con))
    right = con.compile(expr)
    (entry,) = cache.iterdir()
    forged = right.replace("SUM", "MAX")
    import hashlib

    entry.write_bytes(f"{sql_cache.FORMAT} {hashlib.sha256(forged.encode()).hexdigest()}\n{forged}".encode())
    assert con.compile(expr) == forged  # a well-formed entry is used as it is (the user's own file) ...
    entry.write_bytes(f"{sql_cache.FORMAT} {hashlib.sha256(forged.encode()).hexdigest()}\n{forged}".encode())
    entry.chmod(0o666)
    assert con.compile(expr) == right  # ... unless others may write it


def test_entries_are_private_whatever_the_umask(cache):
    previous = os.umask(0o002)  # group-writable files by default (user private groups)
    try:
        con = engine.connect()
        expr = _query(_sales(con))
        con.compile(expr)
    finally:
        os.umask(previous)
    (entry,) = cache.iterdir()
    assert entry.stat().st_mode & 0o077 == 0
    calls = []
    assert sql_cache.compile_cached(con, expr, lambda: calls.append(1) or "", None) and calls == []


def test_pruning_keeps_the_entries_runs_read(cache, monkeypatch):
    """What a long-lived process writes and never reads again goes first; an entry every run reads stays."""
    monkeypatch.setattr(sql_cache, "MAX_ENTRIES", 4)
    monkeypatch.setattr(sql_cache, "PRUNE_EVERY", 1)
    con = engine.connect()
    sales = _sales(con)
    read_often = _query(sales, threshold=100.0)
    con.compile(read_often)
    (kept,) = cache.iterdir()
    os.utime(kept, (1, 1))  # written long ago ...
    inode = kept.stat().st_ino
    for threshold in range(6):
        con.compile(read_often)  # ... but read at every run
        con.compile(_query(sales, threshold=float(threshold)))
    assert kept.stat().st_ino == inode  # never removed (and so never written again)
    assert len(list(cache.iterdir())) <= 4


def test_a_second_story_in_one_process_compiles_nothing(cache, tmp_path):
    """The dashboard builds stories in a long-lived process: its session tables have other names each
    time, and the periods and score cuts are in-memory tables; every statement is read from the cache."""
    from segmint import api
    from segmint.datasets import make_transactions

    path = tmp_path / "sales.csv"
    make_transactions(n_customers=120, years=2, seed=5).to_csv(path, index=False)
    tx = api.read_transactions(str(path))
    compiled = []
    original = sql_cache.compile_cached

    def counting(con, expr, compile_, limit=None):
        return original(con, expr, lambda: compiled.append(1) or compile_(), limit)

    stories = []
    for run in ("cold", "warm"):
        compiled.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sql_cache, "compile_cached", counting)
            story = api.story(tx, scheme="rfm", period="quarter")
            story.load()
            stories.append(story.story)
        if run == "cold":
            assert len(compiled) > 5
    assert compiled == [] and stories[0].equals(stories[1])
