"""What the dashboard says about a library error: its message and the fix in terms of the page's own controls.

The library describes a fix as data (``segmint.errors.Fix``); the CLI renders it as flags, this module
as "choose the column in the mapping table" or "widen the Dates filter".
"""

from __future__ import annotations

from collections.abc import Mapping

from segmint.errors import Fix, SegmintError

DATE_FORMAT = "Date format"  # the Upload page's box for the dates' layout (pages/upload.py)
UNPRICED = "No prices in this file (a basket log): count items"  # the Upload page's switch (pages/upload.py)

# library parameter -> the control that sets it in the dashboard
CONTROLS: dict[str, str] = {
    "start": "the Dates filter",
    "end": "the Dates filter",
    "snapshot_date": "the Dates filter (the snapshot is the day after its end)",
    "org": "the Org filter",
    "scheme": "the Scheme menu",
    "period": "the Period menu",
    "fmt": "the export format",
}


def fix_text(fix: Fix, field: str | None = None) -> str:
    """One sentence telling a dashboard user what to change."""
    note = f" ({fix.note})" if fix.note else ""
    if fix.option == "date_format":  # dates not understood: ``field`` is their column
        # the Upload page fills the box with a suggested layout (pages.upload.suggested_date_format)
        where = (f"the {DATE_FORMAT} box under the table holds a layout that reads them ({fix.example}): check it"
                 if fix.example else f"type their layout in the {DATE_FORMAT} box under the table (e.g. %d.%m.%Y "
                 "%H:%M for 31.12.2023 18:30)")
        return (f"In the mapping table on the Upload page, choose {f'{field!r}' if field else 'the column'} for "
                f"invoice_date; if it holds the dates, {where}, then Run.")
    if fix.option == "mapping":
        example: Mapping[str, str] = fix.example or {}
        if example:
            # a placeholder ('<product column>') is no column of the file: name what the column holds
            picks = ", ".join(f"the column that holds {name}" if column.startswith("<") else f"'{column}' for {name}"
                              for name, column in example.items())
            return f"In the mapping table on the Upload page, choose {picks}, then Run.{note}"
        return f"In the mapping table on the Upload page, choose the column that holds {field or 'each field'}.{note}"
    if fix.option == "unpriced":  # "choose error, units in the unpriced setting" named no control of the page
        return f"Switch on '{UNPRICED}' under the mapping table on the Upload page, then Run.{note}"
    if "." in fix.option:  # a scheme setting, e.g. rfm.bins
        scheme, setting = fix.option.split(".", 1)
        return f"Change '{setting.replace('_', ' ')}' in the {scheme} thresholds panel on the Segments page.{note}"
    control = CONTROLS.get(fix.option, f"the {fix.option.replace('_', ' ')} setting")
    if fix.choices:
        return f"Choose {', '.join(fix.choices)} in {control}.{note}"
    if fix.note:
        return f"{fix.note[0].upper()}{fix.note[1:]} ({control})."
    return f"Change {control}."


def describe(exc: SegmintError) -> str:
    """The error's message followed by its fix for the dashboard (no command-line flags)."""
    if exc.fix is None:
        return str(exc)
    return f"{exc}\n{fix_text(exc.fix, exc.field)}"
