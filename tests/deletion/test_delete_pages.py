"""The Deletion section of an entry's settings, the confirmation page, and the API's DELETE.

The dialog's behaviour in a browser (button disabled until the name matches, Enter) is in
tests/e2e/test_delete_model.py; here the server side: who sees what, what a POST does, and
what forged or mistaken requests get.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client

from deletion.models import Deletion
from models_app.models import Model
from tests.conftest import basic, stack_required
from tests.deletion.model_helpers import FullModel, deletion_env, full

pytestmark = pytest.mark.django_db

__all__ = ["deletion_env", "full"]


@pytest.fixture(autouse=True)
def _env(deletion_env: None) -> None:
    """Eager tasks and a private blob directory for every test here."""


def settings_page(client: Client, model: Model) -> Any:
    return client.get(f"/model/{model.pk}/settings")


def delete_url(model: Model) -> str:
    return f"/model/{model.pk}/delete"


def gone(model: Model) -> bool:
    return not Model.objects.filter(pk=model.pk).exists()


# --- the settings section ---------------------------------------------------------------------


def test_the_owner_sees_the_deletion_section_with_its_button_and_dialog(
    entry: Model, owner: Any, client_for: Any
) -> None:
    response = settings_page(client_for(owner), entry)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="deletion"' in page
    assert '<a href="#deletion">Deletion</a>' in page
    assert f'href="{delete_url(entry)}" role="button"' in page
    assert ">Delete Model</a>" in page
    assert '<dialog id="model-delete-dialog"' in page
    assert f'data-confirm-name="{html.escape(entry.name)}"' in page
    assert "Type the exact model name" in page
    # In the dialog (which only JavaScript opens) Delete starts disabled.
    assert 'class="danger" disabled>Delete</button>' in page
    assert "js/confirm-name.js" in page


def test_an_administrator_who_is_not_an_owner_does_not_see_the_section(
    entry: Model, site_admin: Any, client_for: Any
) -> None:
    response = settings_page(client_for(site_admin), entry)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="deletion"' not in page
    assert "Delete Model" not in page
    assert delete_url(entry) not in page


@pytest.mark.parametrize("persona", ["contributor", "consumer", "reviewer"])
def test_collaborators_who_are_not_owners_do_not_get_the_settings_page_at_all(
    persona: str, entry: Model, personas: dict[str, Any], client_for: Any
) -> None:
    response = settings_page(client_for(personas[persona]), entry)
    assert response.status_code == 403
    assert "Delete Model" not in response.content.decode()


def test_a_data_card_offers_delete_data_card(make_entry: Any, owner: Any, client_for: Any) -> None:
    card = make_entry("Survey data", kind="data-card")
    page = settings_page(client_for(owner), card).content.decode()
    assert ">Delete Data Card</a>" in page


def test_names_with_markup_are_escaped_in_the_dialog(
    make_entry: Any, owner: Any, client_for: Any
) -> None:
    model = make_entry('Cats <b>"quoted"</b> & co')
    page = settings_page(client_for(owner), model).content.decode()
    assert 'data-confirm-name="Cats &lt;b&gt;&quot;quoted&quot;&lt;/b&gt; &amp; co"' in page
    assert "<b>" not in page


# --- the confirmation page and the preview ----------------------------------------------------


def test_the_confirmation_page_says_what_will_go(
    full: FullModel, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).get(delete_url(full.model))

    assert response.status_code == 200
    page = " ".join(response.content.decode().split())
    total = sum(f.size for f in full.files)
    assert "1 release</li>" in page
    assert f"3 files ({total} bytes)</li>" in page
    assert "1 access request</li>" in page
    assert "3 reviews</li>" in page
    assert "3 review responses and comments</li>" in page
    assert "2 card revisions</li>" in page
    assert "2 access tokens that reference it" in page
    assert 'name="confirm_name"' in page
    assert f'action="{delete_url(full.model)}"' in page
    # Without JavaScript the page's own Delete button must work.
    assert 'class="danger">Delete</button>' in page


def test_the_preview_fragment_lists_the_same_things(
    full: FullModel, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).get(f"{delete_url(full.model)}/preview")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert "card revisions" in page


def test_the_preview_says_when_the_registry_cannot_be_reached(
    entry: Model, owner: Any, client_for: Any, settings: Any
) -> None:
    from core.ports import registry

    if not registry.is_configured():
        if stack_required():
            pytest.fail("the registry is not configured but the stack is required")
        pytest.skip("no registry configured")
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    response = client_for(owner).get(f"{delete_url(entry)}/preview")

    assert response.status_code == 200
    assert "unknown: the registry could not be reached" in response.content.decode()


@pytest.mark.parametrize("suffix", ["", "/preview"])
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 403),
        ("consumer", 403),
        ("reviewer", 403),
        ("site_admin", 403),
        ("outsider", 404),
    ],
)
def test_others_are_refused_the_confirmation_page_and_the_preview(
    suffix: str,
    persona: str,
    status: int,
    entry: Model,
    personas: dict[str, Any],
    client_for: Any,
) -> None:
    response = client_for(personas[persona]).get(delete_url(entry) + suffix)
    assert response.status_code == status


def test_an_outsider_is_forbidden_on_a_public_model(
    public_entry: Model, outsider: Any, client_for: Any
) -> None:
    assert client_for(outsider).get(delete_url(public_entry)).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(entry: Model, client_for: Any) -> None:
    response = client_for(None).post(delete_url(entry), {"confirm_name": entry.name})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not gone(entry)


# --- posting the form -------------------------------------------------------------------------


def test_the_exact_name_deletes_and_lands_on_the_home_page_with_a_message(
    entry: Model, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    response = client.post(delete_url(entry), {"confirm_name": entry.name})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert gone(entry)
    assert Deletion.objects.get().deleted_by == owner
    home = client.get("/")
    assert home.status_code == 200
    assert f"Model {entry.name} has been deleted." in home.content.decode()


def test_a_data_card_is_named_as_such_in_the_message(
    make_entry: Any, owner: Any, client_for: Any
) -> None:
    card = make_entry("Survey data", kind="data-card")
    client = client_for(owner)
    client.post(delete_url(card), {"confirm_name": "Survey data"})
    assert "Data card Survey data has been deleted." in client.get("/").content.decode()


@pytest.mark.parametrize(
    "typed", ["", "Private", "private model", "Private model ", " Private model"]
)
def test_a_wrong_name_shows_the_page_again_with_the_error_and_deletes_nothing(
    typed: str, entry: Model, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).post(delete_url(entry), {"confirm_name": typed})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="page-confirm-hint page-confirm-error"' in page
    assert 'id="page-confirm-error"' in page
    assert "model" in page and ("does not match" in page or "to confirm" in page)
    assert not gone(entry)
    assert Deletion.objects.count() == 0


def test_a_post_without_the_field_deletes_nothing(
    entry: Model, owner: Any, client_for: Any
) -> None:
    response = client_for(owner).post(delete_url(entry), {})
    assert response.status_code == 400
    assert not gone(entry)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("contributor", 403),
        ("consumer", 403),
        ("reviewer", 403),
        ("site_admin", 403),
        ("outsider", 404),
    ],
)
def test_a_forged_post_by_anyone_but_an_owner_is_refused_and_deletes_nothing(
    persona: str, status: int, entry: Model, personas: dict[str, Any], client_for: Any
) -> None:
    response = client_for(personas[persona]).post(delete_url(entry), {"confirm_name": entry.name})

    assert response.status_code == status
    assert not gone(entry)
    assert Deletion.objects.count() == 0


def test_posting_again_after_the_deletion_is_not_found(
    entry: Model, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    client.post(delete_url(entry), {"confirm_name": entry.name})

    again = client.post(delete_url(entry), {"confirm_name": entry.name})
    assert again.status_code == 404
    assert client.get(delete_url(entry)).status_code == 404
    assert Deletion.objects.count() == 1


# --- the API ----------------------------------------------------------------------------------


def test_the_api_deletes_for_an_owner_without_a_name(
    entry: Model, owner: Any, client_for: Any
) -> None:
    client = client_for(owner)
    response = client.delete(f"/api/v2/model/{entry.pk}")

    assert response.status_code == 200
    assert response.json() == {"message": "Successfully removed model."}
    assert gone(entry)
    again = client.delete(f"/api/v2/model/{entry.pk}")
    assert again.status_code == 404
    assert set(again.json()) == {"error"}


def test_an_owners_token_with_model_write_deletes_through_the_api(
    entry: Model, owner: Any, make_token: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read", "model:write"])
    response = Client().delete(f"/api/v2/model/{entry.pk}", **basic(token.access_key, secret))
    assert response.status_code == 200
    assert gone(entry)


def test_an_owners_token_without_model_write_is_forbidden_through_the_api(
    entry: Model, owner: Any, make_token: Any
) -> None:
    token, secret = make_token(owner, actions=["model:read"])
    response = Client().delete(f"/api/v2/model/{entry.pk}", **basic(token.access_key, secret))
    assert response.status_code == 403
    assert "model:write" in response.json()["error"]["message"]
    assert not gone(entry)
