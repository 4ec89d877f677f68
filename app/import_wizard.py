"""The import wizard: a file becomes rows of a layer in five short steps, no hand-editing.

1. **Preview** the first rows as the file holds them;
2. **Columns → fields**: each field shows the column recognised for it (or none); another can be
   chosen, a separate time column joined to the date, and a value given to every row that has
   none; a saved profile fills all of it at once;
3. **Values → codes**: every value a first check did not recognise gets a picker of codes
   labelled in the reader's language;
4. **Check** (a dry run, with the values chosen) and its grouped report;
5. **Import**, and optionally save the mapping as a profile for the next file of the kind.

Used by the Incidents page's bulk import and the Workshop's import (through ``run``).  The
widgets only collect a :class:`geo.ingest.Mapping`; reading, checking and writing are
:func:`geo.ingest.validate_file` and :func:`geo.ingest.import_file`.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from geo import escape, taxonomy
from geo.errors import HartaError
from geo.ingest import (
    ImportFailed,
    ImportRejected,
    ImportReport,
    Mapping,
    import_file,
    load_profile,
    save_profile,
    validate_file,
)
from geo.ingest.mapping import TIME_FIELD, list_profiles
from geo.ingest.readers import read_file
from geo.layers import get_layer
from harta_ui import Context, upload_too_large

#: File types the uploader offers.
FILE_TYPES = ["geojson", "json", "gpkg", "zip", "kml", "kmz", "gpx", "csv", "xlsx", "ods"]
#: Rows shown in the preview.
PREVIEW_ROWS = 5

#: ``run(path, mapping, dry_run, skip_invalid) -> ImportReport``: how a page imports.
Runner = Callable[[Path, Mapping, bool, bool], ImportReport]


def import_wizard(ctx: Context, layer: str, *, key: str, run: Runner | None = None) -> None:
    """Show the wizard for importing one file into ``layer`` of the page's community.

    Parameters
    ----------
    ctx : Context
        Page context (community, role, engine, language).
    layer : str
        ``incidents``, ``risk_zones`` or ``facilities``.
    key : str
        Prefix of the widget keys (two wizards may share a page).
    run : callable, optional
        How to import (a workshop passes its session); default :func:`geo.ingest.import_file`
        into ``ctx.community`` as ``ctx.role``.
    """
    upload = st.file_uploader(ctx.t("ingest.wizard.file"), type=FILE_TYPES, key=f"{key}_file")
    if upload is None or upload_too_large(ctx, upload):
        return
    run = run or _default_runner(ctx, layer)
    with tempfile.TemporaryDirectory(prefix="harta-wizard-") as folder:
        # Only the upload's base name, in safe characters, becomes a path (it may hold "../");
        # it is the name the report speaks of.
        path = Path(folder) / _safe_file_name(upload.name)
        path.write_bytes(upload.getvalue())
        crs = st.text_input(ctx.t("ingest.wizard.crs"), key=f"{key}_crs").strip() or None
        try:
            frame = read_file(path, crs=crs)
        except ImportFailed as failed:
            st.error(escape.markdown(failed.message(ctx.lang)))
            return
        _preview(ctx, frame)
        mapping = _columns_step(ctx, layer, frame, key)
        # A first, silent check finds the values to ask about; the pickers do not change it,
        # so they stay put while the person chooses.  The shown check includes the choices.
        first = _validate(ctx, layer, path, mapping, crs)
        if first is None:
            return
        mapping = _values_step(ctx, first, mapping, key)
        report = _validate(ctx, layer, path, mapping, crs) if mapping.values else first
        if report is None:
            return
        _show_check(ctx, report)
        _import_step(ctx, path, mapping, key, run)
        _save_step(ctx, layer, mapping, key)


def _safe_file_name(name: str) -> str:
    base = re.sub(r"[^\w.\- ]+", "_", Path(name.replace("\\", "/")).name).strip(". ")
    return base or "upload"


def _default_runner(ctx: Context, layer: str) -> Runner:
    def run(path: Path, mapping: Mapping, dry_run: bool, skip_invalid: bool) -> ImportReport:
        return import_file(
            ctx.engine,
            layer,
            path,
            community=ctx.community,
            role=ctx.role,
            mapping=mapping,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )

    return run


def _preview(ctx: Context, frame) -> None:  # noqa: ANN001
    st.subheader(ctx.t("ingest.wizard.step_preview"))
    shown = frame.drop(columns=["geometry", "_row"]).head(PREVIEW_ROWS).astype(str)
    shown.insert(0, ctx.t("ingest.wizard.geometry"), frame.geometry.geom_type.head(PREVIEW_ROWS))
    shown.index = frame["_row"].head(PREVIEW_ROWS).tolist()
    st.caption(ctx.t("ingest.wizard.rows", shown=len(shown), total=len(frame)))
    st.table(shown)  # a few rows as plain text: nothing in a cell is ever run


def _columns_step(ctx: Context, layer_name: str, frame, key: str) -> Mapping:  # noqa: ANN001
    """Columns → fields, defaults for every row, or a saved profile."""
    st.subheader(ctx.t("ingest.wizard.step_columns"))
    profiles = list_profiles()
    none = ctx.t("ingest.wizard.no_profile")
    chosen = st.selectbox(ctx.t("ingest.wizard.profile"), [none, *profiles], key=f"{key}_prof")
    base = load_profile(chosen) if chosen != none else Mapping()
    layer = get_layer(layer_name)
    columns = [c for c in frame.columns if c not in ("geometry", "_row", "_layer")]
    automatic = ctx.t("ingest.wizard.automatic")
    fields = list(layer.field_names)
    if any(f.type == "datetime" for f in layer.fields):
        fields.insert(1, TIME_FIELD)
    # Widget keys carry the profile, so choosing one resets the pickers to its choices.
    mapping = Mapping(values={k: dict(v) for k, v in base.values.items()}, name=base.name)
    for name in fields:
        required = name in layer.field_names and layer.field(name).required
        label = (
            ctx.t("ingest.wizard.time_field")
            if name == TIME_FIELD
            else f"{ctx.t(f'ingest.field.{name}')} ({name})"
        )
        left, right = st.columns([3, 2])
        preset = base.fields.get(name) or base.fields.get("time" if name == TIME_FIELD else "")
        options = [automatic, *columns]
        source = left.selectbox(
            f"{label} *" if required else label,
            options,
            index=options.index(preset) if preset in options else 0,
            key=f"{key}_col_{chosen}_{name}",
        )
        if source != automatic:
            mapping.fields[name] = source
        if name != TIME_FIELD:
            given = right.text_input(
                ctx.t("ingest.wizard.value_for_all"),
                value=base.defaults.get(name, ""),
                key=f"{key}_set_{chosen}_{name}",
            ).strip()
            if given:
                mapping.defaults[name] = given
    return mapping


def _validate(ctx: Context, layer: str, path: Path, mapping: Mapping, crs):  # noqa: ANN001, ANN202
    """The dry run; ``None`` (and the message shown) when the file cannot be checked."""
    try:
        return validate_file(
            ctx.engine, layer, path, community=ctx.community, crs=crs, role=ctx.role,
            mapping=mapping,
        )  # fmt: skip
    except ImportFailed as failed:
        st.error(escape.markdown(failed.message(ctx.lang)))
        return None


def _show_check(ctx: Context, report: ImportReport) -> None:
    st.subheader(ctx.t("ingest.wizard.step_check"))
    (st.success if report.ok else st.warning)(
        ctx.t("ingest.wizard.checked", valid=report.rows_valid, read=report.rows_read)
    )
    st.code(report.render(ctx.lang), language=None, wrap_lines=True)


def _values_step(ctx: Context, report: ImportReport, mapping: Mapping, key: str) -> Mapping:
    """A code picker for every distinct value the check did not recognise."""
    unknown = {
        (p.field, p.params["value"]): p.params["kind"]
        for p in report.errors
        if p.key == "ingest.problem.unknown_value"
    }
    if not unknown:
        return mapping
    st.subheader(ctx.t("ingest.wizard.step_values"))
    leave = ctx.t("ingest.wizard.leave_value")
    for (field, value), kind in sorted(unknown.items()):
        labels = taxonomy.labels(kind, ctx.lang)
        options = [leave, *labels]
        # Nothing is chosen for the person: the report's "did you mean" is a hint, not a choice.
        code = st.selectbox(
            # Widget labels are Markdown: a value from the file is shown as literal text.
            escape.markdown(ctx.t("ingest.wizard.value_label", field=field, value=value)),
            options,
            index=0,
            format_func=lambda c, labels=labels: labels.get(c, c),
            key=f"{key}_val_{field}_{value}",
        )
        if code != leave:
            mapping.values.setdefault(field, {})[value] = code
    return mapping


def _import_step(ctx: Context, path: Path, mapping: Mapping, key: str, run: Runner) -> None:
    st.subheader(ctx.t("ingest.wizard.step_import"))
    skip_invalid = st.checkbox(ctx.t("ingest.wizard.skip_invalid"), key=f"{key}_skip")
    if not st.button(ctx.t("ingest.wizard.import"), type="primary", key=f"{key}_run"):
        return
    try:
        with st.spinner(ctx.t("ingest.wizard.running")):
            report = run(path, mapping, False, skip_invalid)
    except ImportRejected as rejected:
        st.error(escape.markdown(rejected.message(ctx.lang)))
        st.code(rejected.report.render(ctx.lang), language=None, wrap_lines=True)
    except HartaError as failed:  # unreadable file, closed workshop session …
        st.error(escape.markdown(failed.message(ctx.lang)))
    else:
        st.success(ctx.t("ingest.wizard.done", written=report.rows_written))
        st.code(report.render(ctx.lang), language=None, wrap_lines=True)


def _save_step(ctx: Context, layer: str, mapping: Mapping, key: str) -> None:
    with st.expander(ctx.t("ingest.wizard.save_profile")):
        name = st.text_input(ctx.t("ingest.wizard.profile_name"), key=f"{key}_pname").strip()
        if st.button(ctx.t("ingest.wizard.save"), key=f"{key}_psave") and name:
            mapping.layer = layer
            saved = save_profile(mapping, name)
            st.success(ctx.t("ingest.wizard.saved", profile=saved.stem))
