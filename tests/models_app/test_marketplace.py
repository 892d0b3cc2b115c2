"""The marketplace page: tabs, search, filters, pagination, visibility and query counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from models_app.models import Collaborator, EntryKind, Model
from models_app.policy import Actor
from models_app.services import model_create, model_update
from models_app.views.marketplace import description_excerpt

pytestmark = pytest.mark.django_db


def names_on(response: Any) -> list[str]:
    """Entry names in the results, in order."""
    html = response.content.decode()
    return re.findall(r'<h3><a href="/model/[^"]+">([^<]+)</a></h3>', html)


def entry(owner: Any, name: str, **fields: Any) -> Model:
    fields.setdefault("description", f"About {name}.")
    fields.setdefault("visibility", "public")
    return model_create(actor=Actor(user=owner), name=name, **fields)


# --- who sees what ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client_for: Any) -> None:
    response = client_for(None).get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_signed_in_person_sees_public_entries_but_not_private_ones_without_a_role(
    client_for: Any, outsider: Any, entry: Model, public_entry: Model
) -> None:
    response = client_for(outsider).get("/")
    assert response.status_code == 200
    assert names_on(response) == ["Public model"]
    assert "Private model" not in response.content.decode()


def test_searching_for_a_private_entry_by_its_exact_name_finds_nothing_for_an_outsider(
    client_for: Any, outsider: Any, entry: Model
) -> None:
    response = client_for(outsider).get("/", {"q": "Private model"})
    assert response.status_code == 200
    assert names_on(response) == []
    assert entry.pk not in response.content.decode()
    assert "No models you can see match" in response.content.decode()


@pytest.mark.parametrize("persona", ["owner", "contributor", "consumer", "reviewer"])
def test_every_collaborator_sees_the_private_entry_they_hold_a_role_on(
    client_for: Any, personas: dict[str, Any], entry: Model, persona: str
) -> None:
    response = client_for(personas[persona]).get("/")
    assert names_on(response) == ["Private model"]
    assert "Private</span>" in response.content.decode()


def test_a_group_role_makes_a_private_entry_visible_to_the_groups_members(
    client_for: Any, outsider: Any, entry: Model
) -> None:
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="analysts")
    outsider.groups.add(group)
    Collaborator.objects.create(model=entry, entity="group:analysts", role="consumer")
    response = client_for(outsider).get("/", {"role": "consumer"})
    assert names_on(response) == ["Private model"]


def test_a_site_admin_sees_private_entries_without_a_role(
    client_for: Any, site_admin: Any, entry: Model, public_entry: Model
) -> None:
    response = client_for(site_admin).get("/")
    assert sorted(names_on(response)) == ["Private model", "Public model"]


def test_deleted_entries_do_not_appear(client_for: Any, owner: Any, public_entry: Model) -> None:
    from django.utils import timezone

    Model.all_objects.filter(pk=public_entry.pk).update(deleted_at=timezone.now())
    assert names_on(client_for(owner).get("/")) == []


# --- tabs and search ----------------------------------------------------------------------------


@pytest.fixture
def catalogue(owner: Any, mirror_import: None) -> dict[str, Model]:
    """Public entries of each kind, organisation, state and tag, owned by ``owner``."""
    made = {
        "vision": entry(
            owner,
            "Satellite vision classifier",
            description="Finds ships in **satellite** images using gradient boosted trees.",
            state="Production",
            organisation="Example Organisation",
            tags=["vision", "maritime"],
        ),
        "speech": entry(
            owner,
            "Speech transcriber",
            description="Turns call audio into text. Calibrated on vision-free data.",
            state="Development",
            tags=["audio"],
        ),
        "mirror": entry(
            owner,
            "Mirrored fraud scorer",
            kind=EntryKind.MIRRORED_MODEL,
            settings_={"mirror": {"sourceModelId": "fraud-scorer-abc123"}},
            tags=["vision"],
        ),
        "dataset": entry(
            owner,
            "Harbour images",
            kind=EntryKind.DATA_CARD,
            description="Images of ships for the satellite vision classifier.",
            tags=["vision"],
        ),
    }
    # A second organisation, which the settings do not list, reached without the service.
    Model.objects.filter(pk=made["speech"].pk).update(organisation="Other Agency")
    return made


def test_the_models_tab_lists_models_and_mirrored_models_but_not_data_cards(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    names = names_on(client_for(owner).get("/"))
    assert sorted(names) == [
        "Mirrored fraud scorer",
        "Satellite vision classifier",
        "Speech transcriber",
    ]


def test_the_data_cards_tab_lists_only_data_cards(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    response = client_for(owner).get("/", {"tab": "data-cards"})
    assert names_on(response) == ["Harbour images"]
    assert (
        '<a href="?tab=data-cards" aria-current="page">Data cards</a>' in response.content.decode()
    )


def test_search_matches_part_of_a_name_whatever_the_case(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    assert names_on(client_for(owner).get("/", {"q": "TRANSCRIB"})) == ["Speech transcriber"]


def test_full_text_search_finds_words_in_descriptions(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    response = client_for(owner).get("/", {"q": "gradient boosted"})
    assert names_on(response) == ["Satellite vision classifier"]


def test_name_only_search_ignores_descriptions(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    response = client_for(owner).get("/", {"q": "gradient boosted", "name_only": "1"})
    assert names_on(response) == []
    assert 'name="name_only" value="1" checked' in response.content.decode()


def test_name_matches_come_before_description_matches(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    # "vision" is in one name and in the other model's description; the name match leads even
    # though the description match was updated more recently.
    Model.objects.filter(pk=catalogue["speech"].pk).update(description="A vision of speech.")
    names = names_on(client_for(owner).get("/", {"q": "vision"}))
    assert names == ["Satellite vision classifier", "Speech transcriber"]


def test_search_text_is_kept_in_the_search_box(client_for: Any, owner: Any) -> None:
    response = client_for(owner).get("/", {"q": 'ships "at sea"'})
    assert 'value="ships &quot;at sea&quot;"' in response.content.decode()


# --- filters ------------------------------------------------------------------------------------


def test_the_kind_filter_narrows_the_models_tab_to_mirrored_models(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    response = client_for(owner).get("/", {"kind": "mirrored-model"})
    assert names_on(response) == ["Mirrored fraud scorer"]


def test_the_organisation_filter_keeps_entries_of_the_chosen_organisations(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    response = client_for(owner).get("/", {"organisation": "Other Agency"})
    assert names_on(response) == ["Speech transcriber"]
    # A chosen organisation missing from the configured list still shows, ticked.
    assert 'name="organisation" value="Other Agency" checked' in response.content.decode()


def test_the_state_filter_keeps_entries_in_the_chosen_states(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    response = client_for(owner).get("/", {"state": ["Production", "Review"]})
    assert names_on(response) == ["Satellite vision classifier"]


def test_the_tag_filter_needs_every_chosen_tag(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    client = client_for(owner)
    assert sorted(names_on(client.get("/", {"tag": "vision"}))) == [
        "Mirrored fraud scorer",
        "Satellite vision classifier",
    ]
    assert names_on(client.get("/", {"tag": ["vision", "maritime"]})) == [
        "Satellite vision classifier"
    ]


def test_popular_tags_are_offered_as_filters_most_used_first(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    html = client_for(owner).get("/").content.decode()
    offered = re.findall(r'name="tag" value="([^"]+)"', html)
    assert offered[0] == "vision"
    assert set(offered) == {"vision", "maritime", "audio"}


def test_popular_tags_leave_out_tags_only_used_on_entries_you_cannot_see(
    client_for: Any, outsider: Any, make_entry: Any
) -> None:
    make_entry("Secret thing", tags=["codename-x"])
    html = client_for(outsider).get("/").content.decode()
    assert "codename-x" not in html


def test_my_roles_filters_keep_entries_where_the_caller_holds_that_role(
    client_for: Any,
    consumer: Any,
    owner: Any,
    entry: Model,
    catalogue: dict[str, Model],
) -> None:
    client = client_for(consumer)
    everything = names_on(client.get("/"))
    assert "Satellite vision classifier" in everything and "Private model" in everything
    assert names_on(client.get("/", {"role": "mine"})) == ["Private model"]
    assert names_on(client.get("/", {"role": "consumer"})) == ["Private model"]
    assert names_on(client.get("/", {"role": "owner"})) == []
    assert len(names_on(client_for(owner).get("/", {"role": "owner"}))) == 4


def test_filters_combine(client_for: Any, owner: Any, catalogue: dict[str, Model]) -> None:
    response = client_for(owner).get(
        "/", {"q": "satellite", "tag": "vision", "state": "Production", "kind": "model"}
    )
    assert names_on(response) == ["Satellite vision classifier"]
    response = client_for(owner).get("/", {"q": "satellite", "state": "Development"})
    assert names_on(response) == []


def test_filters_and_search_are_kept_in_pagination_links(client_for: Any, owner: Any) -> None:
    for n in range(25):
        entry(owner, f"Radar model {n:02d}", tags=["radar"], state="Review")
    response = client_for(owner).get(
        "/", {"q": "radar", "tag": "radar", "state": "Review", "role": "owner"}
    )
    html = response.content.decode()
    assert len(names_on(response)) == 20
    assert "Showing 1 to 20 of 25 models" in html
    next_link = re.search(r'<a href="([^"]+)" rel="next">', html)
    assert next_link is not None
    href = next_link.group(1).replace("&amp;", "&")
    assert set(href.lstrip("?").split("&")) == {
        "q=radar",
        "tag=radar",
        "state=Review",
        "role=owner",
        "page=2",
    }
    second = client_for(owner).get("/" + href)
    assert len(names_on(second)) == 5
    assert "Showing 21 to 25 of 25 models" in second.content.decode()
    assert set(names_on(response)).isdisjoint(names_on(second))


def test_results_per_page_can_be_changed_and_is_kept(client_for: Any, owner: Any) -> None:
    for n in range(12):
        entry(owner, f"Sonar model {n:02d}")
    response = client_for(owner).get("/", {"per_page": "10"})
    assert len(names_on(response)) == 10
    assert "per_page=10&amp;page=2" in response.content.decode()


# --- what each result shows ---------------------------------------------------------------------


def test_a_result_shows_its_excerpt_tags_organisation_state_and_my_roles(
    client_for: Any, contributor: Any, make_entry: Any
) -> None:
    made = make_entry(
        "Port watcher",
        description="# Port watcher\n\nWatches **ports** for [ships](https://example.org).",
        organisation="Example Organisation",
        state="Review",
        tags=["maritime"],
    )
    html = client_for(contributor).get("/").content.decode()
    assert f'<a href="/model/{made.pk}">Port watcher</a>' in html
    assert "<p>Port watcher Watches ports for ships.</p>" in html
    assert "#maritime" in html
    assert "Example Organisation</span>" in html
    assert "Review</span>" in html
    assert "Your role: </span>Contributor</span>" in html


def test_a_changed_description_shows_its_own_excerpt_on_the_next_page(
    client_for: Any, owner: Any, make_entry: Any
) -> None:
    """Excerpts are kept (in the process and the cache) by a digest of the text they come from,
    so an edit is never shown with the excerpt of the text before it."""
    made = make_entry("Tide gauge", description="Reads *tides* at harbours.", visibility="public")
    client = client_for(owner)
    assert "<p>Reads tides at harbours.</p>" in client.get("/").content.decode()
    model_update(
        actor=Actor(user=owner), model=made, changes={"description": "Reads **waves** instead."}
    )
    html = client.get("/").content.decode()
    assert "<p>Reads waves instead.</p>" in html and "harbours" not in html


def test_description_excerpts_are_plain_text_cut_at_a_word_near_200_characters() -> None:
    text = "## Heading\n\n" + "word " * 100 + "<script>alert(1)</script>"
    excerpt = description_excerpt(text)
    assert excerpt.startswith("Heading word word")
    assert excerpt.endswith("…")
    assert len(excerpt) <= 201
    assert "<" not in excerpt and "#" not in excerpt
    assert description_excerpt("Fish &amp; *chips*") == "Fish & chips"


def test_the_page_links_to_create_a_new_entry(client_for: Any, outsider: Any) -> None:
    assert (
        '<a href="/entry/new" role="button">+ Create</a>'
        in client_for(outsider).get("/").content.decode()
    )


def test_an_empty_marketplace_says_so(client_for: Any, outsider: Any) -> None:
    html = client_for(outsider).get("/", {"tab": "data-cards"}).content.decode()
    assert "There are no data cards you can see yet." in html


def test_htmx_requests_get_only_the_results(
    client_for: Any, owner: Any, catalogue: dict[str, Model]
) -> None:
    response = client_for(owner).get("/", {"q": "speech"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.startswith('<section id="results"')
    assert names_on(response) == ["Speech transcriber"]
    assert "<form" not in html


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "is not a page number"),
        ({"page": "-1"}, "is not a page number"),
        ({"page": "0"}, "is not a page number"),
        ({"per_page": "7"}, "Results per page must be one of 10, 20, 50"),
        ({"tab": "spreadsheets"}, "There is no &#x27;spreadsheets&#x27; tab"),
        ({"kind": "data-card"}, "is not a kind of entry on the Models tab"),
        ({"kind": "robot"}, "is not a kind of entry on the Models tab"),
        ({"role": "emperor"}, "is not a role filter"),
        ({"q": "ab"}, "type at least 3 characters"),
        ({"q": "x" * 300}, "Search text is too long"),
        ({"q": "ship\x00s"}, "must not contain NUL"),
        ({"tag": "vision\x00"}, "must not contain NUL"),
    ],
)
def test_bad_input_gets_a_friendly_400_page(
    client_for: Any, owner: Any, params: dict[str, str], message: str
) -> None:
    response = client_for(owner).get("/", params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'role="alert"' in html
    assert "Start again with no search or filters" in html
    assert "<form" in html  # the page is whole: the search form is still there to fix it


def test_a_too_short_search_marks_the_search_box_invalid(client_for: Any, owner: Any) -> None:
    html = client_for(owner).get("/", {"q": "ab"}).content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="results-error q-help"' in html


def test_a_page_past_the_last_one_says_so(client_for: Any, owner: Any, public_entry: Any) -> None:
    response = client_for(owner).get("/", {"page": "9"})
    assert response.status_code == 200
    assert "There is no page 9: the results fill 1 page." in response.content.decode()


# --- query counts -------------------------------------------------------------------------------


def _queries_for_page(client: Any) -> int:
    client.get("/")  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_number_of_queries_does_not_depend_on_the_number_of_results(
    client_for: Any, make_entry: Any, consumer: Any
) -> None:
    client = client_for(consumer)
    for n in range(5):
        make_entry(f"Batch model {n}", tags=["a", "b"], state="Review")
    with_five = _queries_for_page(client)
    for n in range(5, 25):
        make_entry(f"Batch model {n}", tags=["a", "b", "c"], state="Review")
    with_twenty_five = _queries_for_page(client)
    assert len(names_on(client.get("/", {"per_page": "50"}))) == 25
    assert with_five == with_twenty_five
