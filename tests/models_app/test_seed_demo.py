from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from models_app.models import Model

pytestmark = pytest.mark.django_db


def test_demo_data_has_users_and_public_and_private_entries_and_runs_twice() -> None:
    call_command("seed_demo")
    call_command("seed_demo")
    assert User.objects.get(username="admin").groups.filter(name="admin").exists()
    assert User.objects.get(username="alice").check_password("bailo-demo")
    assert Model.objects.filter(visibility="public").count() == 3
    assert Model.objects.filter(visibility="private").count() == 1
    assert Model.objects.get(name="Cat detector").card.version == 2
    assert Model.objects.count() == 4
    # People have real names, and the cards name their points of contact.
    assert User.objects.get(username="bob").get_full_name() == "Bob Brown"
    cat = Model.objects.get(name="Cat detector")
    assert cat.card.metadata["overview"]["modelOwners"] == ["user:alice", "user:bob"]
    assert User.objects.filter(groups__name="data-science").count() == 2


def test_demo_users_of_an_older_database_get_their_names() -> None:
    User.objects.create_user("carol")
    call_command("seed_demo")
    assert User.objects.get(username="carol").get_full_name() == "Carol Chen"
