"""A small OpenID provider for tests: django-oauth-toolkit with OpenID Connect switched on.

It is its own Django project (``tests.oidc_provider.settings``) and never imports the app's
settings. ``python -m tests.oidc_provider.serve`` builds a fresh SQLite database in
``OIDC_PROVIDER_DIR``, registers one confidential client for ``OIDC_PROVIDER_REDIRECT_URI`` and the
users in ``serve.USERS``, then serves on ``127.0.0.1:OIDC_PROVIDER_PORT`` until stopped.

Test-only switches (``views.py``, under ``/control/``) let a test make the next ID token a bad one
(another audience, expired, an old nonce, signed by another key) and change a user's groups.
"""
