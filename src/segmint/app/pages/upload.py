"""Upload: send a sales file, check and correct the detected column mapping, read the quality report, run."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, dcc, html

from segmint.app.callbacks import alert, user_error
from segmint.app.messages import DATE_FORMAT, UNPRICED, describe
from segmint.app.sessions import current_session_id
from segmint.app.state import AppState
from segmint.app.uploads import Upload, register_route, scrub
from segmint.errors import InputError, SegmintError
from segmint.io import FORMATS

ACCEPT = ",".join(FORMATS)  # every file type the readers accept
NONE = "(none)"
MAX_MB_SETTING = "SEGMINT_MAX_UPLOAD_MB"  # Flask config key the page reads its size limit from


def layout() -> html.Div:
    """Upload page components (assets/upload.js sends the chosen file to the server as raw bytes)."""
    from flask import current_app, has_app_context

    max_upload_mb = current_app.config.get(MAX_MB_SETTING, "") if has_app_context() else ""
    return html.Div(
        [
            dcc.Store(id="upload-accepted"),  # {token, filename, size} once the server has the file
            html.Label(
                [
                    html.Div(["Drag a sales file here or ", html.A("choose one"),
                              html.Div("CSV, TSV, Excel, Parquet, JSON, XML", className="small text-muted")]),
                ],  # upload.js adds the <input type=file id=upload-input> (Dash has no file input)
                id="upload-file", htmlFor="upload-input", className="upload-box d-block",
                **{"data-accept": ACCEPT, "data-max-mb": str(max_upload_mb)},
            ),
            html.Div(id="upload-size-message", className="mt-2 text-danger fw-bold"),
            dcc.Loading(html.Div(id="upload-message", className="mt-2"), delay_show=200),
            dbc.Row(
                [
                    dbc.Col([html.H5("Column mapping"), html.Div(id="upload-mapping"),
                             dbc.Row([  # stacked on a phone: side by side its placeholder was cut
                                 dbc.Col(dbc.Label(DATE_FORMAT, html_for="upload-date-format",
                                                   className="small mb-0"), xs=12, sm=4),
                                 dbc.Col(dbc.Input(id="upload-date-format", size="sm", debounce=True,
                                                   placeholder="e.g. %d.%m.%Y %H:%M (blank: detected)"), xs=12, sm=8),
                             ], className="mt-2 align-items-center"),
                             # a basket log has no amounts: without this switch the page could not load it
                             dbc.Checklist(id="upload-unpriced", options=[{"label": UNPRICED, "value": "units"}],
                                           value=[], switch=True, className="small mt-2"),
                             dbc.Button("Run", id="upload-run", color="success", className="mt-2",
                                        disabled=True)], md=5),
                    dbc.Col([html.H5("Data-quality report"),
                             dcc.Loading(html.Pre(id="upload-report", className="quality-report"))], md=7),
                ],
                className="mt-3",
            ),
        ]
    )


def mapping_editor(columns: list[str], fields: dict[str, str], evidence: dict[str, str]) -> html.Div:
    """One dropdown per mappable field, preset to the detected column."""
    from segmint.schema import MAPPABLE_FIELDS, REQUIRED_FIELDS

    options = [{"label": NONE, "value": NONE}] + [{"label": c, "value": c} for c in columns]
    rows = []
    for name in MAPPABLE_FIELDS:
        label = html.Span([name, html.Span(" *", className="text-danger") if name in REQUIRED_FIELDS else None])
        rows.append(dbc.Row([
            dbc.Col(label, width=4, className="small"),
            dbc.Col(dcc.Dropdown(id={"type": "map", "field": name}, options=options,
                                 value=fields.get(name, NONE), clearable=False), width=8),
            dbc.Col(html.Small(evidence.get(name, ""), className="text-muted"), width=12),
        ], className="mb-1"))
    return html.Div(rows)


def find_upload(state: AppState, token: str | None) -> Upload:
    """This browser session's upload with ``token`` (another session's is not found)."""
    session = state.sessions.get(current_session_id())
    upload = session.uploads.get(token or "") if session is not None else None
    if upload is None:
        raise InputError("that upload is no longer here (uploads of an idle session are deleted); "
                         "upload the file again", field="file")  # fmt: skip
    return upload


def suggested_date_format(error: object) -> str | None:
    """The date layout an error's fix suggests (``Fix(option="date_format", example=...)``: the dates of a
    column were not understood and :mod:`segmint.date_hint` found a layout that reads them), or None."""
    fix = getattr(error, "fix", None)
    return fix.example if fix is not None and fix.option == "date_format" and fix.example else None


def inspect_upload(upload: Upload) -> tuple[html.Div, str]:
    """(mapping editor, quality report text): the file is read once and cleaned with the detected mapping."""
    upload.read()
    detection = upload.detected
    editor = mapping_editor(upload.raw.columns, detection.mapping.fields, detection.evidence)
    if isinstance(upload.cleaned, Exception):
        reason = describe(upload.cleaned) if isinstance(upload.cleaned, SegmintError) else str(upload.cleaned)
        report = f"Cannot clean the file with the detected mapping yet:\n{reason}"
    else:
        report = upload.cleaned.report.summary()
    return editor, scrub(report, upload)


def run_upload(state: AppState, session: dict, token: str, fields: dict[str, str],
               date_format: str | None = None, unpriced: bool = False) -> tuple[dict, str, str]:
    """Clean the upload with the chosen mapping (and date layout, when given; items counted when ``unpriced``)
    and make it this session's data; (store, report, label)."""
    upload = find_upload(state, token)
    tx = upload.clean({f: c for f, c in fields.items() if c and c != NONE}, (date_format or "").strip() or None,
                      unpriced)
    dataset_id = state.add_dataset(tx, upload.filename, owner=current_session_id() or "")
    if upload.credit_ledger is not None:  # a Day Book: its credit view on the Credit page
        state.credit.set_ledger(dataset_id, upload.credit_ledger)
    return {**session, "dataset_id": dataset_id}, scrub(tx.report.summary(), upload), upload.filename


def _shown(exc: Exception, upload: Upload | None) -> Any:
    """The error as an alert, without server folder names."""
    shown = user_error(exc)
    shown.children = scrub(str(shown.children), upload)
    return shown


def inspect_accepted(state: AppState, accepted: dict | None) -> tuple:
    """(mapping editor, report, Run disabled, message, Date format box) once a file is uploaded. The box
    belongs to the file: filled with the layout its unread dates suggest (the error's fix: "%d.%m.%Y %H:%M
    Uhr"), else cleared (blank: detected)."""
    if not accepted:
        return None, "", True, None, ""
    upload = None
    try:
        upload = find_upload(state, accepted.get("token"))
        editor, report = inspect_upload(upload)
    except Exception as exc:  # noqa: BLE001 - shown to the user
        return None, "", True, _shown(exc, upload), ""
    note = alert(f"{upload.filename} uploaded: check the mapping, then press Run.", color="info")
    return editor, report, False, note, suggested_date_format(upload.cleaned) or ""


def run_clicked(state: AppState, clicks: int | None, accepted: dict | None, session: dict | None, values: list,
                ids: list, date_format: str | None = None, unpriced: list | None = None) -> tuple:
    """(session, report, message, Date format box) for a press of Run; dates the chosen mapping does not read
    fill the box with the layout their error suggests, when it knows one."""
    from dash import no_update

    if not clicks:  # the page (re)rendering its Run button is no click: no "Upload a file first." on arrival
        return no_update, no_update, no_update, no_update
    if not accepted:
        return no_update, no_update, alert("Upload a file first."), no_update
    fields = {ident["field"]: value for ident, value in zip(ids, values, strict=True)}
    try:
        new_session, report, label = run_upload(state, session or {}, accepted.get("token"), fields, date_format,
                                                "units" in (unpriced or []))
    except Exception as exc:  # noqa: BLE001 - shown to the user
        return no_update, no_update, _shown(exc, None), suggested_date_format(exc) or no_update
    return new_session, report, alert(f"{label} loaded: open Overview to explore it.", color="success"), no_update


def register(app: Dash, state: AppState, max_upload_mb: float) -> None:
    """Upload route and callbacks: the file is posted by assets/upload.js, inspected, then run on click."""
    app.server.config[MAX_MB_SETTING] = max_upload_mb
    register_route(app.server, state, max_upload_mb, app.config.routes_pathname_prefix or "/")

    @app.callback(Output("upload-mapping", "children"), Output("upload-report", "children"),
                  Output("upload-run", "disabled"), Output("upload-message", "children"),
                  Output("upload-date-format", "value"), Input("upload-accepted", "data"), prevent_initial_call=True)
    def inspect(accepted: dict | None) -> tuple:
        return inspect_accepted(state, accepted)

    @app.callback(Output("session", "data"), Output("upload-report", "children", allow_duplicate=True),
                  Output("upload-message", "children", allow_duplicate=True),
                  Output("upload-date-format", "value", allow_duplicate=True),
                  Input("upload-run", "n_clicks"), State("upload-accepted", "data"), State("session", "data"),
                  State({"type": "map", "field": ALL}, "value"), State({"type": "map", "field": ALL}, "id"),
                  State("upload-date-format", "value"), State("upload-unpriced", "value"), prevent_initial_call=True)
    def run(clicks: int | None, accepted: dict | None, session: dict | None, values: list, ids: list,
            date_format: str | None = None, unpriced: list | None = None) -> tuple:
        return run_clicked(state, clicks, accepted, session, values, ids, date_format, unpriced)
