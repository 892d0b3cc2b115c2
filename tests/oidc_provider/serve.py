"""Build the provider's database and serve it: ``python -m tests.oidc_provider.serve``.

Reads ``OIDC_PROVIDER_DIR`` (an empty directory for its SQLite file), ``OIDC_PROVIDER_PORT``,
``OIDC_PROVIDER_REDIRECT_URI`` (the app's callback), ``OIDC_PROVIDER_CLIENT_ID`` and
``OIDC_PROVIDER_CLIENT_SECRET``.
"""

from __future__ import annotations

import os

PASSWORD = "provider-password"
# username: (e-mail, groups at the provider)
USERS = {
    "alice": ("alice@example.org", ["admin", "data-science"]),
    "bob": ("bob@example.org", ["data-science"]),
    "dana": ("dana@example.org", ["admin"]),
    "erin": ("erin@example.org", []),
    "frank": ("", []),
}


def build() -> None:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    for username, (email, groups) in USERS.items():
        user = User.objects.create_user(
            username, email=email, password=PASSWORD, first_name=username.title()
        )
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
    Application.objects.create(
        name="Bailo",
        client_id=os.environ["OIDC_PROVIDER_CLIENT_ID"],
        client_secret=os.environ["OIDC_PROVIDER_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["OIDC_PROVIDER_REDIRECT_URI"],
        algorithm=Application.RS256_ALGORITHM,
        # Ask for consent every time, so the tests go through the consent page as a person does.
        skip_authorization=False,
    )


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django
    from django.core.management import call_command

    django.setup()
    build()
    call_command("runserver", f"127.0.0.1:{os.environ['OIDC_PROVIDER_PORT']}", use_reloader=False)


if __name__ == "__main__":
    main()
