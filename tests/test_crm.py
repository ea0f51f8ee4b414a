"""Contact lists: contacts detected and carried through cleaning, latest value wins, CRM column layout."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.crm import customer_contacts, export_contact_lists, normalise_phone, slug

SALES = """Invoice No,Customer ID,Customer Name,E-mail Address,Mobile,Invoice Date,Amount
1,C1,Asha Rao,asha@old.example,+91 98450-12345,2023-01-05,100
2,C1,Asha Rao,ASHA@new.example ,,2023-03-05,50
3,C2,Ben,not-an-email,(555) 123 4567,2023-02-01,20
4,C3,,,,2023-02-10,10
5,C3,,,,2023-02-11,30
"""


def _sales(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(SALES)
    return path


def test_contact_columns_are_detected_and_carried_through_cleaning(tmp_path):
    tx = segmint.read_transactions(str(_sales(tmp_path)))
    assert tx.mapping.fields["customer_name"] == "Customer Name"
    assert tx.mapping.fields["email"] == "E-mail Address"
    assert tx.mapping.fields["phone"] == "Mobile"
    assert tx.mapping.fields["customer_id"] == "Customer ID"
    contacts = customer_contacts(tx.table).execute().set_index("customer_id")
    assert contacts.loc["C1", "email"] == "ASHA@new.example"  # the latest non-blank value wins ...
    assert contacts.loc["C1", "phone"] == "+91 98450-12345"  # ... per field (the later row has no phone)
    assert pd.isna(contacts.loc["C3", "email"])


def test_name_only_files_keep_the_name_as_customer_id(tmp_path):
    path = tmp_path / "tally.csv"
    path.write_text("Date,Party Name,Amount\n2023-01-02,Asha Traders,100\n2023-01-03,Ben & Co,50\n")
    tx = segmint.read_transactions(str(path))
    assert tx.mapping.fields["customer_id"] == "Party Name" and "customer_name" not in tx.mapping.fields


def test_phone_and_slug_rules():
    assert normalise_phone("+91 98450-12345") == "+919845012345"
    assert normalise_phone("0044 20 7946 0958") == "+442079460958"
    assert normalise_phone("(555) 123 4567") == "5551234567"
    assert normalise_phone("12") is None and normalise_phone(None) is None
    assert slug("Can't Lose Them") == "cant_lose_them" and slug("High Value / Low Frequency") == "high_value_low_frequency"


def test_lists_per_segment_and_tagged(tmp_path):
    result = segmint.analyze(segmint.read_transactions(str(_sales(tmp_path))), scheme="rfm")
    lists = export_contact_lists(result, tmp_path / "lists", scheme="rfm")
    frames = {name: pd.read_csv(path, dtype=str, keep_default_na=False) for name, path in lists.files.items()}
    everyone = pd.concat(frames.values()).set_index("Customer ID")
    assert sorted(everyone.index) == ["C1", "C2", "C3"]
    assert list(next(iter(frames.values())).columns)[:4] == ["Email", "Phone Number", "First Name", "Last Name"]
    assert everyone.loc["C1", "Email"] == "asha@new.example"
    assert everyone.loc["C1", "Phone Number"] == "+919845012345"  # no formula-guard quote on a phone
    assert (everyone.loc["C1", "First Name"], everyone.loc["C1", "Last Name"]) == ("Asha", "Rao")
    assert everyone.loc["C2", "Email"] == ""  # not an e-mail address: left blank
    assert everyone.loc["C1", "Revenue"] == "150.00" and everyone.loc["C1", "Orders"] == "2"
    for name, frame in frames.items():
        assert set(frame["Segment"]) == {frame["Segment"].iloc[0]} and name.startswith("rfm_")
        assert (frame["Tags"] == "segmint:rfm:" + frame["Segment"]).all()
    assert (lists.customers, lists.with_email, lists.with_phone) == (3, 1, 2)
    tagged = export_contact_lists(result, tmp_path / "tagged", scheme="rfm", tagged=True)
    assert list(tagged.files) == ["rfm_contacts"]


def test_cli_crm_command(tmp_path):
    done = CliRunner().invoke(app, ["crm", str(_sales(tmp_path)), "--scheme", "levels", "--out", str(tmp_path / "o")])
    assert done.exit_code == 0, done.output
    assert "3 customers in" in done.output and "1 with an e-mail, 2 with a phone" in done.output
    assert list((tmp_path / "o").glob("levels_*.csv"))


def test_a_name_written_last_name_first_is_split_at_its_comma(tmp_path):
    """'Smith, Carl' went out as First Name 'Smith,' and Last Name 'Carl' (the first word was the first name)."""
    from segmint.crm import _split_name

    assert _split_name("Smith, Carl") == ("Carl", "Smith")
    assert _split_name("van der Berg,  Anna Maria") == ("Anna Maria", "van der Berg")
    assert _split_name("Asha Rao") == ("Asha", "Rao") and _split_name("Ben") == ("Ben", "")
    assert _split_name("Acme, Inc.") == ("Acme,", "Inc.")  # a company form after the comma: not "Last, First"
    path = tmp_path / "sales.csv"
    path.write_text('Invoice No,Customer ID,Customer Name,Invoice Date,Amount\n1,C1,"Smith, Carl",2023-01-05,100\n')
    lists = export_contact_lists(segmint.analyze(path, scheme="rfm"), tmp_path / "out", scheme="rfm", tagged=True)
    row = pd.read_csv(next(iter(lists.files.values())), dtype=str).iloc[0]
    assert (row["First Name"], row["Last Name"]) == ("Carl", "Smith")
