"""Printable reports (PDF) made with fpdf2: workshop maps and session summaries.

See :mod:`geo.reports.workshop_pdf`.  This package never imports Streamlit.
"""

from __future__ import annotations
