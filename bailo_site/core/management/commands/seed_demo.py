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


class Command(BaseCommand):
    help = "Create demo users (password 'bailo-demo') and demo content; existing data is kept."

    def handle(self, *args: Any, **options: Any) -> None:
        admins, _ = Group.objects.get_or_create(name=settings.BAILO_ADMIN_GROUP)
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
            if admin:
                user.groups.add(admins)
        self.stdout.write(f"Demo users ready ({created} new); password: {DEMO_PASSWORD}")
