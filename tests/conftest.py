"""Shared fixtures: personas, API helpers and the rule that no request may end in a 500."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any

import factory
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.signals import got_request_exception
from django.test import Client

from access.models import Token
from access.tokens.credentials import hash_secret, new_access_key, new_secret

PASSWORD = "correct-horse-battery"


def stack_required() -> bool:
    return os.environ.get("BAILO_REQUIRE_STACK") == "1"


# --- running in parallel (pytest-xdist) ----------------------------------------------------------
#
# Each worker process has its own test database (pytest-django suffixes its name), its own Redis
# key prefix (settings) and its own live server on a free port. The one address they cannot each
# have, the registry's token realm, is taken in turn (tests/releases/test_registry_integration.py).


SNAPSHOT_SCHEMA = "test_snapshot"


def _snapshot_after_migrations() -> tuple[list[str], list[str]]:
    """Copy every table that holds rows after migrating (seeds, content types, permissions)
    into ``SNAPSHOT_SCHEMA``; answer all tables and the copied ones."""
    from django.db import connection

    quote = connection.ops.quote_name
    tables = [t for t in connection.introspection.table_names() if t != "django_migrations"]
    copied = []
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SNAPSHOT_SCHEMA}")
        for table in tables:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})")
            if cursor.fetchone()[0]:
                cursor.execute(
                    f"CREATE TABLE {SNAPSHOT_SCHEMA}.{quote(table)} AS SELECT * FROM {quote(table)}"
                )
                copied.append(table)
    return tables, copied


def _restore_snapshot(tables: list[str], copied: list[str]) -> Any:
    """A transactional test's teardown on PostgreSQL: every row deleted, then the rows the
    migrations left put back. Django's flush truncates every table (each TRUNCATE makes new files
    for the table and its indexes) and then re-runs post-migrate handlers, about a second per
    test; deleting the few rows a test wrote takes milliseconds. The database each test starts
    from is the same: exactly what the migrations made, seeds included. Foreign keys are deferred
    to commit, by which time nothing refers to a deleted row."""
    from django.db import connections, transaction

    def teardown(self: Any) -> None:
        for alias in self._databases_names(include_mirrors=False):
            connection = connections[alias]
            quote = connection.ops.quote_name
            with transaction.atomic(using=alias), connection.cursor() as cursor:
                for table in tables:
                    cursor.execute(f"DELETE FROM {quote(table)}")
                for table in copied:
                    cursor.execute(
                        f"INSERT INTO {quote(table)} SELECT * FROM {SNAPSHOT_SCHEMA}.{quote(table)}"
                    )

    return teardown


def _on_postgresql() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(scope="session")
def django_db_keepdb(request: pytest.FixtureRequest) -> bool:
    """On PostgreSQL the test database already exists when pytest-django sets it up (a copy of the
    migrated template, ``_test_database_from_template``): Django keeps it, finds nothing left to
    migrate, and leaves dropping it to that fixture."""
    return _on_postgresql() or bool(request.config.getvalue("reuse_db"))


@pytest.fixture(scope="session")
def _test_database_from_template(
    django_db_modify_db_settings: None, django_db_blocker: Any
) -> Iterator[None]:
    """This process's test database as a copy of the migrated template (``tests/template_db.py``)
    instead of migrating an empty one: a second instead of most of a minute per worker. Dropped
    at the end of the session."""
    if not _on_postgresql():
        yield
        return
    from django.db import connection

    from tests.template_db import copy_of_migrated_template, drop_database

    name = connection.creation._get_test_db_name()
    copy_of_migrated_template(name)
    yield
    with django_db_blocker.unblock():
        connection.close()
    drop_database(name)


@pytest.fixture(scope="session")
def django_db_setup(
    _test_database_from_template: None, django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """On PostgreSQL, transactional tests end by putting back the database the migrations made
    (``_restore_snapshot``) instead of Django's flush. Before the test database is dropped, end
    any connection a live server's request thread still holds on it (PostgreSQL refuses to drop a
    database that is in use)."""
    from django.db import connection
    from django.test import TransactionTestCase

    patch = pytest.MonkeyPatch()
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            tables, copied = _snapshot_after_migrations()
            patch.setattr(
                TransactionTestCase, "_fixture_teardown", _restore_snapshot(tables, copied)
            )
    yield
    patch.undo()

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


# The settings a blob store is made from, and those the cached stores were last made with.
_BLOB_SETTINGS = (
    "BLOB_STORAGE",
    "BLOB_ROOT",
    "S3_ENDPOINT",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
    "S3_REGION",
    "S3_VERIFY",
    "S3_BUCKET_UPLOADS",
    "S3_CONNECT_TIMEOUT",
    "S3_READ_TIMEOUT",
    "S3_MAX_ATTEMPTS",
)
_blob_settings_in_use: list[tuple[str, ...]] = []


def blob_store_follow_settings() -> None:
    """Forget the cached blob stores when the settings they were made from have changed since the
    last call (a test pointed them elsewhere, or a fresh blob directory). Making an S3 store costs
    about 0.1 s (botocore parses its service description), so tests that leave the settings alone
    keep the one they share."""
    from core.ports.storage import blob_store

    now = tuple(str(getattr(settings, name, "")) for name in _BLOB_SETTINGS)
    if _blob_settings_in_use != [now]:
        blob_store.cache_clear()
        _blob_settings_in_use[:] = [now]


@pytest.fixture(autouse=True)
def _blob_stores_follow_settings() -> None:
    """A test that pointed storage elsewhere (a dead or private S3) leaves the cached store behind
    when its settings are restored: every test starts by dropping a store made from other
    settings."""
    blob_store_follow_settings()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 is right for real passwords and far too slow for hundreds of test users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_failure_counts(settings: Any) -> None:
    """Failed-attempt counters live in the shared Redis cache: each test counts under a namespace
    of its own, so one test's wrong passwords never lock another test out (they expire unread)."""
    settings.FAILURE_LIMIT_NAMESPACE = uuid.uuid4().hex[:16]


@pytest.fixture(autouse=True)
def _fresh_marketplace_cache(settings: Any) -> None:
    """The marketplace's cached tags and counts (models_app/listing_cache.py) live in the shared
    Redis cache too: each test reads and writes its own, so none sees another's entries."""
    settings.MARKETPLACE_CACHE_NAMESPACE = uuid.uuid4().hex[:16]


@pytest.fixture(autouse=True, scope="session")
def _fast_token_hashing() -> Iterator[None]:
    """Tokens minted before hmac-sha256 hold argon2 hashes at production cost: about 0.1 s of both
    cores and 64 MiB for each check. The tests that make such tokens get the same hasher at the
    lowest cost, which keeps every code path (and the ``$argon2id$`` format)."""
    from argon2 import PasswordHasher

    from access.tokens import credentials

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "_hasher", cheap)
        yield


def seed_defaults() -> None:
    """Write again the review roles and default schemas that data migrations seed (idempotent).

    Transactional tests flush the database, seeds included. ``serialized_rollback`` is not used:
    after a browser test, Playwright's event loop hands this thread a new connection object
    without the serialized copy, and mixing serialized and plain transactional tests breaks
    set-up; writing the seeds again before each transactional test is simple and always works.
    """
    import importlib

    from django.apps import apps as django_apps

    for module in (
        "reviews.migrations.0002_seed_review_roles",
        "models_app.migrations.0002_seed_default_schemas",
        "models_app.migrations.0005_bailo_default_schemas",
    ):
        importlib.import_module(module).seed(django_apps, None)


@pytest.fixture(autouse=True)
def _seeds_in_transactional_tests(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if transactional or "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        from django.db import connection

        if connection.vendor != "postgresql":  # PostgreSQL restores them after each test
            seed_defaults()


@pytest.fixture(autouse=True)
def _no_server_errors() -> Iterator[None]:
    """Any unhandled exception inside a request fails the test that caused it."""
    failures: list[Any] = []

    def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
        failures.append(getattr(request, "path", "?"))

    got_request_exception.connect(record, weak=False)
    yield
    got_request_exception.disconnect(record)
    assert not failures, f"requests raised unhandled exceptions: {failures}"


def create_user(username: str, *, admin: bool = False, **kwargs: Any) -> User:
    user = UserFactory(username=username, **kwargs)
    if admin:
        group, _ = Group.objects.get_or_create(name=settings.BAILO_ADMIN_GROUP)
        user.groups.add(group)
    return user


@pytest.fixture
def make_user(db: None) -> Any:
    return create_user


# The personas' user names (``personas`` below; ``create_personas`` for data built once).
USERNAMES = {
    "owner": "owen",
    "contributor": "connie",
    "consumer": "cody",
    "reviewer": "rita",
    "outsider": "olive",
    "site_admin": "ada",
}


@pytest.fixture
def site_admin(make_user: Any) -> User:
    return make_user(USERNAMES["site_admin"], admin=True)


@pytest.fixture
def outsider(make_user: Any) -> User:
    return make_user(USERNAMES["outsider"])


@pytest.fixture
def make_token(db: None) -> Any:
    def make(user: User, **fields: Any) -> tuple[Token, str]:
        secret = new_secret()
        fields.setdefault("description", "test token")
        token = Token.objects.create(
            user=user, access_key=new_access_key(), secret_hash=hash_secret(secret), **fields
        )
        return token, secret

    return make


def basic(access_key: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{access_key}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


@pytest.fixture
def client_for() -> Any:
    """A Django test client signed in as the given user (None: anonymous)."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


# --- entries and the personas around them -------------------------------------------------------


@pytest.fixture
def owner(make_user: Any) -> User:
    return make_user(USERNAMES["owner"])


@pytest.fixture
def contributor(make_user: Any) -> User:
    return make_user(USERNAMES["contributor"])


@pytest.fixture
def consumer(make_user: Any) -> User:
    return make_user(USERNAMES["consumer"])


@pytest.fixture
def reviewer(make_user: Any) -> User:
    """Holds the msro review role on the entries below, and no other role."""
    return make_user(USERNAMES["reviewer"])


PERSONAS = ["owner", "contributor", "consumer", "reviewer", "outsider", "site_admin", "anonymous"]


@pytest.fixture
def personas(
    owner: User,
    contributor: User,
    consumer: User,
    reviewer: User,
    outsider: User,
    site_admin: User,
) -> dict[str, User | None]:
    return {
        "owner": owner,
        "contributor": contributor,
        "consumer": consumer,
        "reviewer": reviewer,
        "outsider": outsider,
        "site_admin": site_admin,
        "anonymous": None,
    }


def create_personas() -> dict[str, User | None]:
    """The users of ``personas``, for data that a module builds once (outside any test)."""
    made: dict[str, User | None] = {
        name: create_user(username, admin=name == "site_admin")
        for name, username in USERNAMES.items()
    }
    return {**made, "anonymous": None}


def _make_entry(owner: User, others: dict[str, User], **fields: Any) -> Any:
    from models_app.policy import Actor
    from models_app.services import model_create

    collaborators = [{"entity": "user:" + owner.username, "roles": ["owner"]}]
    for role, user in others.items():
        collaborators.append({"entity": "user:" + user.username, "roles": [role]})
    fields.setdefault("description", "A model for tests")
    return model_create(actor=Actor(user=owner), collaborators=collaborators, **fields)


@pytest.fixture
def make_entry(owner: User, contributor: User, consumer: User, reviewer: User) -> Any:
    """An entry with owner, contributor, consumer and an msro reviewer (private by default)."""

    def make(name: str = "Test model", **fields: Any) -> Any:
        return create_entry(owner, contributor, consumer, reviewer, name, **fields)

    return make


def create_entry(
    owner: User, contributor: User, consumer: User, reviewer: User, name: str, **fields: Any
) -> Any:
    fields.setdefault("visibility", "private")
    return _make_entry(
        owner,
        {"contributor": contributor, "consumer": consumer, "msro": reviewer},
        name=name,
        **fields,
    )


@pytest.fixture
def entry(make_entry: Any) -> Any:
    return make_entry("Private model")


@pytest.fixture
def public_entry(make_entry: Any) -> Any:
    return make_entry("Public model", visibility="public")


@pytest.fixture
def mirror_import(settings: Any) -> None:
    """Mirrored models may be created (MIRROR_IMPORT_ENABLED; off by default)."""
    settings.MIRROR_IMPORT_ENABLED = True


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Queued tasks run at once in this process (the worker's code path, without a broker)."""
    from bailo_site.celery import app as celery_app

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager
