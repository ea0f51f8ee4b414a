"""Passwords in database URLs never reach a message, a log line or an output: ``user:pass@`` and ``?password=``."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from segmint import remote
from segmint.cli import app

SECRET = "TopSecret99"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:pw1@db:5432/sales", "postgresql://bob:***@db:5432/sales"),
        ("postgresql://bob@db/sales?password=TopSecret99&table=t", "postgresql://bob@db/sales?password=***&table=t"),
        ("postgres://db/sales?user=bob&PASSWORD=a%26b&sslmode=require",
         "postgres://db/sales?user=bob&PASSWORD=***&sslmode=require"),
        ("postgresql://db/sales?sslpassword=key-pass", "postgresql://db/sales?sslpassword=***"),
        ("postgresql://bob:pw1@[::1:5/sales", "postgresql://bob:***@[::1:5/sales"),  # not even a valid URL
        ("host=db user=bob password=hunter2 dbname=sales", "host=db user=bob password=*** dbname=sales"),
        ("postgresql://bob@db/sales?sslmode=require", "postgresql://bob@db/sales?sslmode=require"),
    ],
)  # fmt: skip
def test_redact_url_masks_every_password_form(url, shown):
    assert remote.redact_url(url) == shown


def test_redact_masks_the_urls_secrets_wherever_a_driver_quotes_them():
    url = "postgresql://db/sales?user=bob&password=a%26bcd"
    message = f"auth failed for password 'a&bcd' in {url} (a%26bcd)"
    assert remote.redact(message, url) == "auth failed for password '***' in postgresql://db/sales?user=bob&password=*** (***)"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob@127.0.0.1:1/sales?table=t&password={SECRET}",
        f"postgresql://bob:{SECRET}@127.0.0.1:1/sales?table=t",
        f"postgresql://bob@127.0.0.1:1/sales?password={SECRET}",  # no table named
        f"postgresql://bob:{SECRET}@[::1:1/sales?table=t",  # unparsable host
    ],
)
def test_cli_errors_and_logs_never_show_the_password(url, caplog):
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(app, ["analyze", "--source", url])
    assert result.exit_code == 2, result.output
    assert SECRET not in result.output and "***" in result.output
    assert "Traceback" not in result.output
    assert not [r for r in caplog.records if SECRET in r.getMessage()]


@pytest.mark.postgres
def test_a_missing_table_error_masks_the_password(postgres_url, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"{postgres_url}?table=no_such_table&password={SECRET}"
    result = CliRunner().invoke(app, ["analyze", "--source", url])
    assert result.exit_code == 2, result.output
    assert "no_such_table" in result.output and SECRET not in result.output
    assert not [r for r in caplog.records if SECRET in r.getMessage()]
