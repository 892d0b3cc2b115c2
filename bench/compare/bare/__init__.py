"""A bare Django list view: the peer the marketplace page is measured against.

A model with columns comparable to an entry's, a paginated HTML list page and a JSON list, and
nothing else (no sign-in, no permissions, no markdown). Served by gunicorn with the same settings
as the app; see ``bench/compare/run.py``.
"""
