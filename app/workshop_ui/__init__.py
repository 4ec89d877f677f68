"""The workshop page's modes (draw, paper, import/export, agreement, history), one module each.

``app/screens/workshop.py`` is the page (URL ``/workshop``); it picks the session and the mode
and calls the mode's function here.  Widgets only: the work is :mod:`geo.workshops`.
"""
