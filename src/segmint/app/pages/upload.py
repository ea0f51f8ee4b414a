"""Upload: send a sales file, check and correct the detected column mapping, read the quality report, run."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, dcc, html

from segmint.app.callbacks import alert, user_error
from segmint.app.state import AppState
from segmint.errors import InputError
from segmint.io import FORMATS

ACCEPT = ",".join(FORMATS)  # every file type the readers accept
NONE = "(none)"

# Runs in the browser: refuse an over-size file before any byte is sent to the server.
SIZE_CHECK_JS = """
function(contents, filename, maxMb) {
    if (!contents) { return [null, null]; }
    const bytes = Math.floor((contents.length - contents.indexOf(',') - 1) * 3 / 4);
    if (bytes > maxMb * 1024 * 1024) {
        return [null, `${filename} is ${(bytes / 1048576).toFixed(1)} MB; the upload limit is ${maxMb} MB. ` +
                      'Start the dashboard with --max-upload-mb N, or load big files with ' +
                      "'segmint dashboard FILE' or a workspace."];
    }
    return [{filename: filename, contents: contents}, null];
}
"""


def layout() -> html.Div:
    """Upload page components."""
    return html.Div(
        [
            dcc.Store(id="upload-accepted"),
            dcc.Store(id="upload-path"),
            dcc.Upload(
                id="upload-file", accept=ACCEPT, className="upload-box",
                children=html.Div(["Drag a sales file here or ", html.A("choose one"),
                                   html.Div("CSV, TSV, Excel, Parquet, JSON, XML", className="small text-muted")]),
            ),
            html.Div(id="upload-size-message", className="mt-2 text-danger fw-bold"),
            dcc.Loading(html.Div(id="upload-message", className="mt-2"), delay_show=200),
            dbc.Row(
                [
                    dbc.Col([html.H5("Column mapping"), html.Div(id="upload-mapping"),
                             dbc.Button("Run", id="upload-run", color="success", className="mt-2",
                                        disabled=True)], md=5),
                    dbc.Col([html.H5("Data-quality report"),
                             dcc.Loading(html.Pre(id="upload-report", className="quality-report"))], md=7),
                ],
                className="mt-3",
            ),
        ]
    )


def safe_filename(name: str) -> str:
    """A file name without directories or odd characters (keeps the extension)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "upload").name).strip("._") or "upload"
    return stem[:120]


def save_upload(state: AppState, session_id: str, filename: str, contents: str, max_mb: float) -> Path:
    """Decode a ``dcc.Upload`` data URL into this session's upload directory; InputError when too big."""
    _, _, encoded = contents.partition(",")
    data = base64.b64decode(encoded)
    if len(data) > max_mb * 1024 * 1024:
        raise InputError(f"{filename} is {len(data) / 2**20:.1f} MB; the upload limit is {max_mb} MB "
                         "(start the dashboard with --max-upload-mb N)")
    target = state.upload_dir(session_id) / safe_filename(filename)
    target.write_bytes(data)
    return target


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


def inspect_upload(path: Path) -> tuple[html.Div, str]:
    """(mapping editor, quality report text) for an uploaded file read with the detected mapping."""
    from segmint.api import read_transactions
    from segmint.engine import connect
    from segmint.io import read_raw
    from segmint.schema import detect_mapping

    con = connect()
    raw = read_raw(str(path), con=con)
    detection = detect_mapping(raw.columns, raw.sample(500))
    editor = mapping_editor(raw.columns, detection.mapping.fields, detection.evidence)
    try:
        report = read_transactions(str(path), con=con).report.summary()
    except Exception as exc:  # noqa: BLE001 - the user fixes the mapping, then runs
        report = f"Cannot clean the file with the detected mapping yet:\n{exc}"
    return editor, report


def run_upload(state: AppState, session: dict, path: str, fields: dict[str, str]) -> tuple[dict, str, str]:
    """Read ``path`` with the chosen mapping, register it; (new session data, report text, label)."""
    from segmint.api import read_transactions
    from segmint.engine import connect
    from segmint.schema import ColumnMapping

    source = Path(path).resolve()
    if state.upload_dir(session.get("session_id", "")).resolve() not in source.parents:
        raise InputError("that upload belongs to another session; upload the file again")
    mapping = ColumnMapping(fields={f: c for f, c in fields.items() if c and c != NONE})
    tx = read_transactions(str(source), mapping=mapping, con=connect())
    dataset_id = state.add_dataset(tx, source.name)
    return {**session, "dataset_id": dataset_id}, tx.report.summary(), source.name


def register(app: Dash, state: AppState, max_upload_mb: float) -> None:
    """Upload callbacks: size check in the browser, inspect on upload, run on click."""
    app.clientside_callback(
        SIZE_CHECK_JS,
        Output("upload-accepted", "data"), Output("upload-size-message", "children"),
        Input("upload-file", "contents"), State("upload-file", "filename"), State("max-upload-mb", "data"),
    )

    @app.callback(Output("upload-mapping", "children"), Output("upload-report", "children"),
                  Output("upload-path", "data"), Output("upload-run", "disabled"),
                  Output("upload-message", "children"),
                  Input("upload-accepted", "data"), State("session", "data"), prevent_initial_call=True)
    def inspect(accepted: dict | None, session: dict | None) -> tuple:
        if not accepted:
            return None, "", None, True, None
        try:
            path = save_upload(state, (session or {}).get("session_id", ""), accepted["filename"],
                               accepted["contents"], max_upload_mb)
            editor, report = inspect_upload(path)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            return None, "", None, True, user_error(exc)
        note = alert(f"{path.name} uploaded: check the mapping, then press Run.", color="info")
        return editor, report, str(path), False, note

    @app.callback(Output("session", "data"), Output("upload-report", "children", allow_duplicate=True),
                  Output("upload-message", "children", allow_duplicate=True),
                  Input("upload-run", "n_clicks"), State("upload-path", "data"), State("session", "data"),
                  State({"type": "map", "field": ALL}, "value"), State({"type": "map", "field": ALL}, "id"),
                  prevent_initial_call=True)
    def run(_: int | None, path: str | None, session: dict | None, values: list, ids: list) -> tuple:
        from dash import no_update

        if not path:
            return no_update, no_update, alert("Upload a file first.")
        fields = {ident["field"]: value for ident, value in zip(ids, values, strict=True)}
        try:
            new_session, report, label = run_upload(state, session or {}, path, fields)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            return no_update, no_update, user_error(exc)
        return new_session, report, alert(f"{label} loaded: open Overview to explore it.", color="success")
