"""Import and export modes: zones drawn elsewhere brought in, a session written out."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from geo import escape
from geo import workshops as ws
from geo.reports import workshop_pdf
from harta_ui import Context, record_view, upload_too_large


def import_mode(ctx: Context, session: ws.Session, writable: bool) -> None:
    st.subheader(ctx.t("workshop.import.header"))
    st.caption(ctx.t("workshop.import.help"))
    if not writable:
        return
    upload = st.file_uploader(
        ctx.t("workshop.import.file"),
        type=["gpkg", "geojson", "json", "kml", "kmz", "csv", "zip", "gpx"],
        key="ws_upload",
    )
    if upload is None or upload_too_large(ctx, upload):
        return
    if not st.button(ctx.t("workshop.import.button"), type="primary"):
        return
    try:
        from geo.ingest import ImportFailed, ImportRejected
    except ImportError:
        st.error(ctx.t("workshop.import.unavailable"))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            report = ws.import_into_session(ctx.engine, session.id, path, lang=ctx.lang)
        except ImportRejected as exc:
            st.error(ctx.t("workshop.import.failed", reason=""))
            st.code(exc.report.render(ctx.lang), language=None)
            return
        except (ImportFailed, ws.WorkshopError) as exc:
            message = exc.message(ctx.lang) if isinstance(exc, ws.WorkshopError) else None
            st.error(
                ctx.t(
                    "workshop.import.failed",
                    reason=escape.markdown(message or exc.message(ctx.lang)),
                )
            )
            return
    st.success(
        ctx.t(
            "workshop.import.done",
            written=report.rows_written,
            skipped=report.rows_read - report.rows_written,
        )
    )
    st.code(report.render(ctx.lang), language=None)


def export_mode(ctx: Context, session: ws.Session) -> None:
    st.subheader(ctx.t("workshop.export.header"))
    cols = st.columns(4)
    mimes = {
        "geojson": "application/geo+json",
        "gpkg": "application/geopackage+sqlite3",
        "kml": "application/vnd.google-earth.kml+xml",
    }
    for col, (fmt, (suffix, _)) in zip(cols, ws.EXPORT_FORMATS.items(), strict=False):
        col.download_button(
            ctx.t(f"workshop.export.{fmt}"),
            data=ws.export_bytes(ctx.engine, session.id, fmt),
            file_name=f"harta_workshop_{session.id}{suffix}",
            mime=mimes[fmt],
            key=f"ws_export_{fmt}",
            use_container_width=True,
            on_click=record_view,
            args=(ctx, "export"),
            kwargs={"page": "workshop", "row_id": session.id, "format": fmt},
        )
    cols[3].download_button(
        ctx.t("workshop.export.summary_pdf"),
        data=workshop_pdf.session_summary_pdf(ctx.engine, session.id),
        file_name=f"harta_workshop_{session.id}_summary.pdf",
        mime="application/pdf",
        key="ws_export_pdf",
        use_container_width=True,
        on_click=record_view,
        args=(ctx, "export"),
        kwargs={"page": "workshop", "row_id": session.id, "format": "pdf"},
    )
