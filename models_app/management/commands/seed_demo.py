"""Demo data for ``make run``: an administrator and a few ordinary users. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

DEMO_PASSWORD = "bailo-demo"
DEMO_USERS = [
    ("admin", "Ada", "Admin", True),
    ("alice", "Alice", "Anders", False),
    ("bob", "Bob", "Brown", False),
    ("carol", "Carol", "Chen", False),
]
# A group of the demo users, so the person picker has a group to suggest.
DEMO_GROUP = "data-science"


class Command(BaseCommand):
    help = "Create demo users (password 'bailo-demo') and demo content; existing data is kept."

    def handle(self, *args: Any, **options: Any) -> None:
        admins, _ = Group.objects.get_or_create(name=settings.BAILO_ADMIN_GROUP)
        data_science, _ = Group.objects.get_or_create(name=DEMO_GROUP)
        created = 0
        for username, first, last, admin in DEMO_USERS:
            user, is_new = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.org",
                },
            )
            if is_new:
                user.set_password(DEMO_PASSWORD)
                user.save()
                created += 1
            elif not (user.first_name or user.last_name):
                # Users of an older demo database get their names too (pages show names).
                user.first_name, user.last_name = first, last
                user.save(update_fields=["first_name", "last_name"])
            if admin:
                user.groups.add(admins)
            if username in {"alice", "bob"}:
                user.groups.add(data_science)
        self.stdout.write(f"Demo users ready ({created} new); password: {DEMO_PASSWORD}")
        made = seed_entries()
        self.stdout.write(f"Demo entries ready ({made} new)")


DEMO_ENTRIES: list[dict[str, Any]] = [
    {
        "owner": "alice",
        "name": "Cat detector",
        "description": "Finds cats in photographs. A **public** demo model with a card.",
        "visibility": "public",
        "tags": ["vision", "demo"],
        "collaborators": [{"entity": "user:bob", "roles": ["contributor"]}],
        "card": {
            "overview": {
                "modelSummary": "Labels photographs that contain a cat.",
                "tags": ["cats"],
                "modelOwners": ["user:alice", "user:bob"],
            },
            "performance": {"accuracy": 0.93},
        },
    },
    {
        "owner": "alice",
        "name": "Sentiment scorer",
        "description": "Scores the tone of short texts from -1 to 1.",
        "visibility": "public",
        "tags": ["nlp", "demo"],
        "collaborators": [
            {"entity": "user:carol", "roles": ["consumer", "msro"]},
            {"entity": f"group:{DEMO_GROUP}", "roles": ["consumer"]},
        ],
        "card": {
            "overview": {
                "modelSummary": "Gives a tone score for short English texts.",
                "modelOwners": ["user:alice", f"group:{DEMO_GROUP}"],
            }
        },
    },
    {
        "owner": "bob",
        "name": "Fraud signals",
        "description": "A **private** model: only its collaborators can find it.",
        "visibility": "private",
        "tags": ["finance"],
        "collaborators": [{"entity": "user:alice", "roles": ["consumer"]}],
        "card": None,
    },
    {
        "owner": "carol",
        "name": "Street images 2026",
        "description": "A data card describing a set of labelled street photographs.",
        "visibility": "public",
        "kind": "data-card",
        "tags": ["vision"],
        "collaborators": [],
        "card": {"overview": {"storageLocation": "s3://datasets/street-2026"}},
    },
]


def seed_entries() -> int:
    """A handful of public and private entries, created once (matched by name)."""
    from models_app.models import Model
    from models_app.policy import Actor
    from models_app.services import card_from_schema, card_update, model_create

    made = 0
    for spec in DEMO_ENTRIES:
        if Model.objects.filter(name=spec["name"]).exists():
            continue
        actor = Actor(user=User.objects.get(username=spec["owner"]))
        kind = spec.get("kind", "model")
        model = model_create(
            actor=actor,
            name=spec["name"],
            description=spec["description"],
            kind=kind,
            visibility=spec["visibility"],
            tags=spec["tags"],
            collaborators=[
                {"entity": f"user:{spec['owner']}", "roles": ["owner"]},
                *spec["collaborators"],
            ],
        )
        if spec["card"] is not None:
            schema = "extended-data-card-v1" if kind == "data-card" else "extended-general-v1"
            card_from_schema(actor=actor, model=model, schema_id=schema)
            card_update(actor=actor, model=model, metadata=spec["card"])
        made += 1
    return made
