"""Import and export modes: zones drawn elsewhere brought in, a session written out."""

from __future__ import annotations

import streamlit as st
from import_wizard import import_wizard

from geo import workshops as ws
from geo.reports import workshop_pdf
from harta_ui import Context, record_view


def import_mode(ctx: Context, session: ws.Session, writable: bool) -> None:
    st.subheader(ctx.t("workshop.import.header"))
    st.caption(ctx.t("workshop.import.help"))
    if not writable:
        return

    def run(path, mapping, dry_run, skip_invalid):  # noqa: ANN001, ANN202
        return ws.import_into_session(
            ctx.engine, session.id, path, mapping=mapping, dry_run=dry_run,
            skip_invalid=skip_invalid,
        )  # fmt: skip

    import_wizard(ctx, "risk_zones", key="ws_import", run=run)  # app/import_wizard.py


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
            width="stretch",
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
        width="stretch",
        on_click=record_view,
        args=(ctx, "export"),
        kwargs={"page": "workshop", "row_id": session.id, "format": "pdf"},
    )
