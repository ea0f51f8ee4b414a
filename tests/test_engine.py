"""Backend connections: DuckDB settings, error messages, Spark session settings."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import ibis
import pytest

from segmint import engine, remote
from segmint.errors import BackendError


def _setting(con, name: str):
    return con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0]


def test_duckdb_applies_memory_limit_threads_and_spill_directory(tmp_path):
    con = engine.connect(memory_limit="600MB", threads=1, temp_directory=tmp_path / "spill")
    assert _setting(con, "memory_limit") == "572.2 MiB"  # 600e6 bytes
    assert _setting(con, "threads") == 1
    assert Path(_setting(con, "temp_directory")).parent == tmp_path / "spill"  # a private folder inside


def test_default_memory_limit_is_half_the_ram_capped_and_overridable(monkeypatch):
    monkeypatch.delenv("SEGMINT_MEMORY_LIMIT", raising=False)
    ram_mb = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 0}
    monkeypatch.setattr(engine.os, "sysconf", lambda name: ram_mb[name])
    ram_mb["SC_PHYS_PAGES"] = 24 * 2**30 // 4096  # 24 GiB: half would be 12 GiB, the cap wins
    assert engine.default_memory_limit() == "1536MB"
    ram_mb["SC_PHYS_PAGES"] = 2 * 2**30 // 4096  # 2 GiB: half of it
    assert engine.default_memory_limit() == "1024MB"
    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "8GB")
    assert engine.default_memory_limit() == "8GB"


def test_duckdb_spill_directory_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMINT_TEMP_DIR", str(tmp_path))
    assert Path(_setting(engine.connect(), "temp_directory")).parent == tmp_path


def test_connections_sharing_a_spill_folder_never_delete_each_others_files(tmp_path):
    """DuckDB deletes the temp directory it created when its connection closes: two connections (two
    segmint processes) spilling into one shared folder used to lose the survivor's spill files."""
    spill = tmp_path / "shared"
    first = engine.connect(memory_limit="40MB", threads=1, temp_directory=spill)
    second = engine.connect(memory_limit="40MB", threads=1, temp_directory=spill)
    assert _setting(first, "temp_directory") != _setting(second, "temp_directory")
    big = "CREATE TEMP TABLE t AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(1500000)"
    for con in (first, second):
        con.raw_sql(big)  # more than 40 MB: both spill
    assert Path(_setting(first, "temp_directory")).exists() and Path(_setting(second, "temp_directory")).exists()
    first.disconnect()
    assert spill.exists() and Path(_setting(second, "temp_directory")).exists()
    # by hand: 1,500,000 distinct md5 texts, still readable from the survivor's spilled table
    assert second.raw_sql("SELECT count(DISTINCT s) FROM t").fetchone()[0] == 1_500_000


def test_duckdb_file_persists_and_unreadable_path_names_it(tmp_path):
    path = tmp_path / "work.duckdb"
    con = engine.connect(path=path)
    con.create_table("t", ibis.memtable({"x": [1, 2, 3]}))
    con.disconnect()
    assert engine.connect(path=path).table("t").x.sum().execute() == 6
    with pytest.raises(BackendError, match=str(tmp_path)):
        engine.connect(path=tmp_path)  # a directory, not a database file


def test_unknown_backend_lists_the_choices():
    with pytest.raises(BackendError, match="unknown backend 'oracle'; choose one of duckdb, spark, postgres"):
        engine.connect("oracle")


def test_postgres_needs_a_url():
    with pytest.raises(BackendError, match="needs a URL like postgresql://"):
        engine.connect("postgres")


def test_spark_without_pyspark_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails as if not installed
    with pytest.raises(BackendError, match=r"pip install 'segmint\[spark\]'"):
        engine.connect("spark")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:pw@db:5432/sales", "postgresql://bob:***@db:5432/sales"),
        ("postgresql://bob@db/sales", "postgresql://bob@db/sales"),
        ("postgres://db/sales?sslmode=require", "postgres://db/sales?sslmode=require"),
    ],
)
def test_redact_url_hides_only_the_password(url, shown):
    assert remote.redact_url(url) == shown


def test_materialize_computes_once_into_a_new_table():
    con = engine.connect()
    source = con.create_table("src", ibis.memtable({"x": [1.0, 2.0, 4.0]}))
    stored = engine.materialize(con, source.mutate(y=source.x * 2), "doubled")
    con.drop_table("src")  # the materialised copy no longer depends on its source
    assert stored.get_name().endswith("doubled")
    assert stored.y.to_pyarrow().to_pylist() == [2.0, 4.0, 8.0]


def test_materialize_declares_the_expressions_types_and_registers_in_memory_tables():
    """DuckDB's unnamed tables skip Ibis' catalog and column look-ups: the table is still temporary,
    typed as the expression says, and an in-memory (Arrow) input is registered before the query."""
    con = engine.connect()
    memory = ibis.memtable({"id": ["a", "b", "c"], "n": [1, 2, 3]})
    expr = memory.mutate(share=memory.n / 6, big=memory.n > 1, day=ibis.date("2024-01-02"))
    stored = engine.materialize(con, expr)
    assert stored.schema() == expr.schema()
    name = stored.op().name
    found = con.con.execute("SELECT database_name, temporary FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()
    assert found == [("temp", True)]  # session-temporary: nothing left in the user's database
    assert con.table(name, database=("temp", "main")).schema() == expr.schema()
    rows = stored.order_by("id").to_pyarrow().to_pylist()
    assert [(r["id"], r["n"], r["share"], r["big"], str(r["day"])) for r in rows] == [
        ("a", 1, 1 / 6, False, "2024-01-02"), ("b", 2, 2 / 6, True, "2024-01-02"), ("c", 3, 3 / 6, True, "2024-01-02"),
    ]
    again = engine.materialize(con, stored.filter(stored.big).select("id"))  # a table of a table
    assert sorted(again.id.to_pyarrow().to_pylist()) == ["b", "c"]


def test_materialize_declares_each_column_type_as_ibis_does_rendering_each_type_once(monkeypatch):
    """The declared columns are Ibis' (quoted names, NOT NULL for a non-nullable type, nested types), and
    a type already rendered is not rendered again for the next table (sqlglot rendered every column)."""
    con = engine.connect()
    schema = ibis.schema({'a "b"': "!string", "n": "int64", "amount": "decimal(12,2)", "tags": "array<string>",
                          "pair": "struct<x: int64, y: string>", "when": "timestamp(6)", "flag": "!boolean"})  # fmt: skip
    rendered = []
    to_defs = ibis.Schema.to_sqlglot_column_defs
    monkeypatch.setattr(ibis.Schema, "to_sqlglot_column_defs", lambda self, d: rendered.append(self) or to_defs(self, d))
    empty = lambda schema: "SELECT " + ", ".join(f"NULL AS c{i}" for i in range(len(schema))) + " LIMIT 0"  # noqa: E731
    engine._declared_temp_table(con, "declared_first", schema, empty(schema))
    again = ibis.schema({"other": "!string", "more": "int64", "flag": "!boolean"})  # types rendered above
    rendered.clear()
    engine._declared_temp_table(con, "declared_again", again, empty(again))
    assert rendered == []
    for name, expected in (("declared_first", schema), ("declared_again", again)):
        assert con.table(name, database=("temp", "main")).schema() == expected


def test_ibis_pre_execute_hooks_run_only_for_what_they_act_on(monkeypatch):
    """Ibis walks a query four times before running it (in-memory tables, Python UDFs ...): segmint's
    DuckDB backend runs those hooks only when the query holds such a node, and then they still work."""
    from ibis.backends.duckdb import Backend

    con = engine.connect()
    calls = []
    hooks = Backend._run_pre_execute_hooks
    monkeypatch.setattr(Backend, "_run_pre_execute_hooks", lambda self, expr: calls.append(expr) or hooks(self, expr))
    stored = engine.materialize(con, ibis.memtable({"x": [1, 2, 3]}))
    assert len(calls) == 1  # the in-memory table was registered
    assert engine.first_row(stored.aggregate(n=stored.count(), total=stored.x.sum())) == {"n": 3, "total": 6}
    assert len(calls) == 1  # a query of stored tables only: no hook

    @ibis.udf.scalar.python
    def plus_one(x: int) -> int:
        return x + 1

    assert engine.first_row(stored.aggregate(top=plus_one(stored.x).max())) == {"top": 4}
    assert len(calls) == 2  # the UDF was registered before the query


def test_sqlglots_duckdb_templates_parsed_when_read_are_the_templates_and_transpile_the_same():
    """sqlglot's DuckDB dialect imported by ``connect`` (templates deferred) and as it is: every class
    attribute and a transpile that reads two templates agree; a template left deferred is parsed on read."""
    script = textwrap.dedent("""
        import sys
        import sqlglot, sqlglot.expressions as exp
        if sys.argv[1] == "deferred":
            from segmint import engine
            engine.connect()
        from sqlglot.dialects.duckdb import DuckDB
        generator = DuckDB.Generator
        deferred = sorted(n for n, v in vars(generator).items() if type(v).__name__ == "_Template")
        read = {n: getattr(generator, n) for n in sorted(vars(generator)) if n.isupper()}
        values = {n: v.sql() for n, v in read.items() if isinstance(v, exp.Expression)}
        moved = sqlglot.transpile("SELECT NORMAL(0, 1, RANDOM(7)), ZIPF(1, 10, RANDOM())", read="snowflake", write="duckdb")
        print(repr((deferred, values, moved)))
    """)
    runs = {}
    for mode in ("deferred", "eager"):
        run = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        runs[mode] = ast.literal_eval(run.stdout.strip().splitlines()[-1])
    deferred, values, moved = runs["deferred"]
    assert "ZIPF_TEMPLATE" in deferred and "APPROXIMATE_SIMILARITY_TEMPLATE" in deferred  # until first read
    assert runs["eager"][0] == []
    assert values == runs["eager"][1] and len(values) >= 12  # each template as sqlglot parses it
    assert moved == runs["eager"][2]


def test_row_count_of_a_materialised_table_needs_no_query(monkeypatch):
    """DuckDB reports the rows an INSERT wrote: the count of a table ``materialize`` filled is known
    (the source has 10 rows, 4 of them with x > 5: counted by hand); any other table is counted."""
    con = engine.connect()
    source = con.create_table("ten", ibis.memtable({"x": list(range(10))}))
    stored = engine.materialize(con, source.filter(source.x > 5))
    empty = engine.materialize(con, source.filter(source.x > 99))
    compiled: list[object] = []
    compile_ = con.compile
    monkeypatch.setattr(con, "compile", lambda expr, **kwargs: compiled.append(expr) or compile_(expr, **kwargs))
    assert engine.row_count(stored) == 4 and engine.row_count(empty) == 0
    assert compiled == []  # neither count compiled a query
    assert engine.row_count(source) == 10  # not made by materialize: one count query
    assert len(compiled) == 1


def test_row_counts_kept_are_bounded_and_a_forgotten_one_is_counted(monkeypatch):
    """A long-lived process (the dashboard) keeps only the latest counts; an older table is still
    counted right, by a query (3 rows of 5 with x >= 2, by hand)."""
    monkeypatch.setattr(engine, "_ROWS_KEPT", 2)
    con = engine.connect()
    source = con.create_table("five", ibis.memtable({"x": list(range(5))}))
    first = engine.materialize(con, source.filter(source.x >= 2))
    for _ in range(3):
        engine.materialize(con, source.filter(source.x >= 4))
    assert len(engine._ROWS) <= 2 and first.op().name not in engine._ROWS
    assert engine.row_count(first) == 3


def test_row_count_survives_another_thread_evicting_the_entry(monkeypatch):
    """The dashboard's threads share the remembered counts: an entry evicted by another thread's
    materialize right after a look-up saw it must not raise (2 rows of 4 with x >= 2, by hand)."""
    from collections import OrderedDict

    class EvictedAfterLookup(OrderedDict):
        def __contains__(self, key: object) -> bool:
            found = super().__contains__(key)
            self.pop(key, None)  # another thread's materialize evicts it in between
            return found

    con = engine.connect()
    source = con.create_table("four", ibis.memtable({"x": list(range(4))}))
    stored = engine.materialize(con, source.filter(source.x >= 2))
    monkeypatch.setattr(engine, "_ROWS", EvictedAfterLookup(engine._ROWS))
    assert engine.row_count(stored) == 2


def test_set_where_in_changes_a_materialised_tables_matching_rows_in_place():
    """Rows whose (source, row) pair is in the keys get the value; a pair matching on one key only does
    not (a.csv row 3 is marked, b.csv row 3 is not); a view over the table sees the change; a table
    ``materialize`` did not make is left alone (False: the caller derives the change)."""
    con = engine.connect()
    lines = ibis.memtable({"_source": ["a.csv", "a.csv", "b.csv", "b.csv"], "_row": [2, 3, 2, 3],
                           "_reason": [None, None, "missing_customer", None]})  # fmt: skip
    stored = engine.materialize(con, lines)
    view = engine.temp_view(con, stored.mutate(dropped=stored._reason.notnull()))
    keys = ibis.memtable({"_source": ["a.csv", "b.csv"], "_row": [3, 4]})
    assert engine.set_where_in(con, stored, keys, {"_reason": "duplicate"})
    rows = sorted(view.to_pyarrow().to_pylist(), key=lambda r: (r["_source"], r["_row"]))
    assert [(r["_source"], r["_row"], r["_reason"], r["dropped"]) for r in rows] == [
        ("a.csv", 2, None, False), ("a.csv", 3, "duplicate", True),
        ("b.csv", 2, "missing_customer", True), ("b.csv", 3, None, False),
    ]  # fmt: skip
    assert engine.row_count(stored) == 4
    assert not engine.set_where_in(con, con.table(view.get_name()), keys, {"_reason": "x"})  # a view


def test_arrow_table_stores_arrow_rows_as_a_temporary_table_with_their_types():
    import datetime as dt
    import os

    import pyarrow as pa

    con = engine.connect()
    data = pa.table({
        "id": ["a", "b", None], "n": [1, None, 3], "x": [0.1, 2.5, None],
        "day": [dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)], "flag": [True, False, None],
    })
    stored = engine.arrow_table(con, data)
    assert stored.schema() == ibis.schema({"id": "string", "n": "int64", "x": "float64", "day": "date", "flag": "boolean"})
    assert stored.to_pyarrow().to_pydict() == data.to_pydict()
    found = con.con.execute("SELECT database_name FROM duckdb_tables() WHERE table_name = ?", [stored.op().name]).fetchall()
    assert found == [("temp",)]
    assert not list(engine.spill_root().glob(f"{os.getpid()}-*.parquet"))  # this process's spool file is gone


def test_an_arrow_table_stored_in_key_order_is_its_own_sorted_copy():
    import pyarrow as pa

    con = engine.connect()
    data = pa.table({"customer_id": ["c", "a", "b"], "n": [3, 1, 2]})
    stored = engine.arrow_table(con, data, ("customer_id",))
    assert con.con.execute(f'SELECT customer_id FROM "{stored.op().name}"').fetchall() == [("a",), ("b",), ("c",)]
    assert engine.materialize(con, stored.order_by("customer_id")).op() is stored.op()  # no second copy
    # any other order, or a table stored as given, is copied
    other = engine.materialize(con, stored.order_by(ibis.desc("customer_id")))
    assert other.op() is not stored.op() and other.n.to_pyarrow().to_pylist() == [3, 2, 1]
    unsorted = engine.arrow_table(con, data)
    copied = engine.materialize(con, unsorted.order_by("customer_id"))
    assert copied.op() is not unsorted.op() and copied.n.to_pyarrow().to_pylist() == [1, 2, 3]


@pytest.mark.spark
def test_spark_session_is_local_quiet_and_keeps_tables_out_of_the_cwd(spark_con):
    conf = spark_con._session.sparkContext.getConf()
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.shuffle.partitions") == "2"  # fixture override wins over the default 8
    warehouse = Path(conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    assert Path.cwd() not in warehouse.parents and warehouse != Path.cwd() / "spark-warehouse"
    assert engine.backend_name(spark_con) == "pyspark"


def test_split_table_url_keeps_connection_options_and_spots_database_urls():
    assert remote.split_table_url("postgresql://bob@db:5432/sales?sslmode=require&table=orders") == (
        "postgresql://bob@db:5432/sales?sslmode=require",
        "orders",
    )
    assert remote.is_database_url("postgres://db/sales?table=t")
    assert not remote.is_database_url("sales.parquet") and not remote.is_database_url(Path("x.csv"))
    with pytest.raises(BackendError, match=r"postgresql://bob:\*\*\*@db/sales: name the table"):
        remote.split_table_url("postgresql://bob:pw@db/sales")


def test_out_of_memory_is_one_clear_error_naming_the_setting(tmp_path, monkeypatch):
    """DuckDB's OutOfMemoryException (a story of 1.2M customers at the 1.5 GB default) -> BackendError, no traceback."""
    import duckdb
    from typer.testing import CliRunner

    from segmint.cli import app

    con = engine.connect(memory_limit="1GB")

    def out_of_memory(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256.0 KiB")

    monkeypatch.setattr(type(con), "create_table", out_of_memory)  # named tables (and other engines)
    monkeypatch.setattr(engine, "_duckdb_temp_table", out_of_memory)  # DuckDB's unnamed temporary tables
    with pytest.raises(BackendError, match=r"ran out of memory \(1\.0 GB\).*SEGMINT_MEMORY_LIMIT") as caught:
        engine.materialize(con, ibis.memtable({"a": [1, 2]}))
    assert caught.value.field == "memory_limit"
    path = tmp_path / "sales.csv"
    path.write_text("Invoice,Client,Date,Amount\n1,A,2024-01-02,10.50\n2,B,2024-01-03,4.25\n")
    result = CliRunner().invoke(app, ["story", str(path), "--scheme", "rfm"])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "ran out of memory" in text and "SEGMINT_MEMORY_LIMIT" in text
    assert "Traceback" not in result.output and "--memory-limit" not in text  # no flag that does not exist
    # out of memory in a story's last queries (not a materialised table): the same one error
    monkeypatch.undo()
    from segmint import story_current

    monkeypatch.setattr(story_current, "overview_counts", out_of_memory)  # the overview's last query
    result = CliRunner().invoke(app, ["story", str(path), "--scheme", "rfm"])
    assert result.exit_code != 0 and "SEGMINT_MEMORY_LIMIT" in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("command", "function"), [("analyze", "analyze"), ("recommend", "recommend"), ("clv", "clv")])
def test_out_of_memory_in_any_command_is_one_clear_error(tmp_path, monkeypatch, command, function):
    """Out of memory while fetching a query's result (not a materialised table): every command, not only story,
    ends in the one error naming the setting and its configured value, exit status 2, no traceback."""
    import duckdb
    from typer.testing import CliRunner

    from segmint import api
    from segmint.cli import app

    def out_of_memory(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block of size 256.0 KiB")

    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "3GB")
    monkeypatch.setattr(api, function, out_of_memory)
    path = tmp_path / "sales.csv"
    path.write_text("Invoice,Client,Date,Product,Amount\n1,A,2024-01-02,P1,10.50\n2,B,2024-01-03,P2,4.25\n")
    result = CliRunner().invoke(app, [command, str(path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "ran out of memory (3GB)" in text and "SEGMINT_MEMORY_LIMIT" in text
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_other_errors_still_propagate_from_commands(tmp_path, monkeypatch):
    """The group's handler maps only DuckDB's out-of-memory: a programming error is not hidden as one."""
    from typer.testing import CliRunner

    from segmint import api
    from segmint.cli import app

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api, "analyze", broken)
    path = tmp_path / "sales.csv"
    path.write_text("Invoice,Client,Date,Amount\n1,A,2024-01-02,10.50\n")
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert isinstance(result.exception, ZeroDivisionError)


def test_close_connections_closes_what_is_open_and_keeps_file_data(tmp_path):
    database = tmp_path / "kept.duckdb"
    con = engine.connect(path=database)
    con.raw_sql("CREATE TABLE t AS SELECT 42 AS x")
    private = engine.raw_duckdb()
    engine.close_connections()
    with pytest.raises(Exception):
        private.execute("SELECT 1")
    with pytest.raises(Exception):
        con.raw_sql("SELECT 1")
    again = engine.connect(path=database)
    assert again.raw_sql("SELECT x FROM t").fetchone()[0] == 42
    again.disconnect()
    engine.close_connections()  # an already closed connection is no error


def test_raw_duckdb_is_private_and_leaves_the_default_database_alone():
    import duckdb

    default = duckdb.default_connection()
    shown = default.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
    first, second = engine.raw_duckdb(), engine.raw_duckdb()
    first.execute("CREATE TEMP TABLE lines AS SELECT 1 AS x")
    assert first.execute("SELECT x FROM lines").fetchall() == [(1,)]
    for other in (second, default):  # a temporary table is its connection's own
        with pytest.raises(duckdb.CatalogException):
            other.execute("SELECT x FROM lines")
    assert first.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False
    assert default.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] == shown
    first.close()
    second.close()
    assert default.execute("SELECT 41 + 1").fetchone()[0] == 42  # closing them closed nothing else


def test_own_default_database_puts_the_next_connection_on_duckdbs_default_database(tmp_path):
    import duckdb

    from segmint.duckdb_backend import own_default_database

    default = duckdb.default_connection()
    settings = "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')"
    before = default.execute(settings).fetchone()
    try:
        engine.connect(memory_limit="1GB", threads=1)  # not asked: a database of its own
        assert default.execute(settings).fetchone() == before
        own_default_database()
        con = engine.connect(memory_limit="1GB", threads=1, temp_directory=tmp_path)
        limit, threads, spill = default.execute(settings).fetchone()  # its settings are the default database's
        assert (limit, threads) == (con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0], 1)
        assert limit != before[0] and Path(spill).parent == tmp_path
        con.raw_sql("CREATE TEMP TABLE lines AS SELECT 7 AS x")
        assert con.raw_sql("SELECT sum(x) FROM lines").fetchone()[0] == 7
        with pytest.raises(duckdb.CatalogException):  # its temporary tables are its own
            default.execute("SELECT x FROM lines")
        engine.connect(memory_limit="2GB", threads=2)  # once: the next one has a database of its own
        assert default.execute(settings).fetchone() == (limit, 1, spill)
        Path(spill).mkdir()  # as DuckDB makes it when it first spills
        engine.close_connections()
        assert not Path(spill).exists()  # the default database outlives the connection: removed at close
        assert default.execute("SELECT 41 + 1").fetchone()[0] == 42
    finally:
        default.execute(f"SET GLOBAL memory_limit = '{before[0]}'")
        default.execute(f"SET GLOBAL threads = {before[1]}")
        default.execute(f"SET GLOBAL temp_directory = '{before[2]}'")


def test_a_views_schema_is_read_as_ibis_reads_it_each_type_parsed_once(monkeypatch):
    """``con.table`` of a session view: the columns and types Ibis' own DESCRIBE reading gives (every
    kind of type, nullability), and a type text already parsed is not parsed again for the next view."""
    import sqlglot as sg
    import sqlglot.expressions as sge

    con = engine.connect()
    con.con.execute(
        "CREATE TEMP VIEW \"typed view\" AS SELECT 'a' AS \"a \"\"b\", 1::BIGINT AS n, 2.5::DECIMAL(12,2) AS amount, "
        "['x'] AS tags, {'x': 1, 'y': 'z'} AS pair, TIMESTAMP '2024-01-02 03:04:05' AS \"when\", true AS flag, "
        "DATE '2024-01-02' AS day, 1.5::DOUBLE AS share"
    )  # fmt: skip
    described = con.con.execute(sge.Describe(this=sg.table("typed view", quoted=True)).sql("duckdb")).fetchall()
    mapper = con.compiler.type_mapper
    expected = ibis.Schema({row[0]: mapper.from_string(row[1], nullable=row[2] == "YES") for row in described})
    assert con.table("typed view").schema() == expected
    parsed = []
    from_string = mapper.from_string.__func__  # the type mapper is a class
    monkeypatch.setattr(mapper, "from_string", classmethod(lambda cls, *a, **k: parsed.append(a) or from_string(cls, *a, **k)))
    con.con.execute("CREATE TEMP VIEW again AS SELECT 2::BIGINT AS other, 'q' AS text, 0.5::DOUBLE AS part")
    assert con.table("again").schema() == ibis.schema({"other": "int64", "text": "string", "part": "float64"})
    assert parsed == []  # BIGINT, VARCHAR and DOUBLE were parsed for the first view
