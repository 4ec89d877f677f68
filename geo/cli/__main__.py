"""``python -m geo.cli``: the ``harta`` command."""

from geo.cli import app

app()
