"""Forms for the entry pages: creating an entry and its settings (details, access, settings).

Forms only parse and shape input into the arguments of ``services.model_create`` and
``services.model_update``; every business rule (known users and roles, at least one owner, a state
the card satisfies) is the service's, so the API and the pages refuse the same things.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from models_app.models import EntryKind, SystemRole, Visibility
from models_app.roles import role_choices

CREATABLE_KINDS = [(EntryKind.MODEL.value, "Model"), (EntryKind.DATA_CARD.value, "Data card")]
# Offered only where mirrored models can be imported into (MIRROR_IMPORT_ENABLED).
MIRRORED_KIND = (EntryKind.MIRRORED_MODEL.value, "Mirrored model")


def _details_choices(key: str, current: str = "") -> list[tuple[str, str]]:
    values = list(settings.BAILO_UI["modelDetails"][key])
    # Keep a value that has since left the configured list, so opening the form and saving
    # something else does not silently clear it (the service says if it is no longer allowed).
    if current and current not in values:
        values.append(current)
    return [("", "None"), *((v, v) for v in values)]


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def parse_collaborator_lines(text: str) -> list[dict[str, Any]]:
    """``user:alice, contributor`` per line into Bailo's ``{entity, roles}`` (default consumer)."""
    result: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split(",") if p.strip()]
        if not parts:
            continue
        roles = parts[1:] or [SystemRole.CONSUMER.value]
        result.append({"entity": parts[0], "roles": roles})
    return result


class EntryDetailsFields(forms.Form):
    """Name, description, organisation, state, tags and visibility: shared by create and edit."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Markdown. Shown at the top of the entry's overview.",
    )
    organisation = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False)
    tags = forms.CharField(
        required=False, help_text="Separate tags with commas, e.g. vision, classification."
    )
    visibility = forms.ChoiceField(
        choices=Visibility.choices,
        widget=forms.RadioSelect,
        initial=Visibility.PUBLIC.value,
        help_text="Public entries can be found and read by everyone who can sign in; "
        "private ones only by their collaborators.",
    )

    def __init__(
        self,
        *args: Any,
        current: dict[str, str] | None = None,
        state_gaps: dict[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        current = current or {}
        if state_gaps:
            # The same rule the server applies on saving, said before anyone tries.
            self.fields["state"].help_text = " ".join(
                f"{state} needs answers to: {', '.join(titles)}."
                for state, titles in state_gaps.items()
            )
        self.fields["organisation"].choices = _details_choices(  # type: ignore[attr-defined]
            "organisations", current.get("organisation", "")
        )
        self.fields["state"].choices = _details_choices(  # type: ignore[attr-defined]
            "states", current.get("state", "")
        )

    def details(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "organisation": data["organisation"],
            "state": data["state"],
            "tags": split_tags(data["tags"]),
            "visibility": data["visibility"],
        }


class EntryCreateForm(EntryDetailsFields):
    kind = forms.ChoiceField(
        choices=CREATABLE_KINDS,
        widget=forms.RadioSelect,
        initial=EntryKind.MODEL.value,
        label="What are you creating?",
    )
    source_model_id = forms.CharField(
        required=False,
        max_length=200,
        label="Source Model ID",
        help_text="For a mirrored model: the ID of the model on the source instance whose card, "
        "releases and files are imported here. It can be changed until the first import.",
    )
    collaborators = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional. One per line: an entity, then its roles, separated by commas, e.g. "
        "user:alice, contributor. No role means consumer. You become an owner.",
    )

    field_order = [
        "kind",
        "source_model_id",
        "name",
        "description",
        "organisation",
        "state",
        "tags",
        "visibility",
        "collaborators",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings.MIRROR_IMPORT_ENABLED:
            self.fields["kind"].choices = [*CREATABLE_KINDS, MIRRORED_KIND]  # type: ignore[attr-defined]
        else:
            del self.fields["source_model_id"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == EntryKind.MIRRORED_MODEL and not data.get("source_model_id"):
            self.add_error("source_model_id", "A mirrored model needs the ID of its source model.")
        return data

    def entry_settings(self) -> dict[str, Any] | None:
        """The ``settings`` of the new entry: a mirrored model's source."""
        if self.cleaned_data["kind"] != EntryKind.MIRRORED_MODEL:
            return None
        return {"mirror": {"sourceModelId": self.cleaned_data["source_model_id"]}}


class EntryDetailsForm(EntryDetailsFields):
    pass


class CollaboratorAddForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("user", "User"), ("group", "Group")], initial="user", label="Type"
    )
    name = forms.CharField(
        max_length=190,
        label="User name or group name",
        help_text="For example alice, user:alice or group:data-team. "
        "Type three letters of a name to see suggestions.",
        # The person picker (static/js/people-picker.js) enhances this field; without
        # JavaScript it is a plain text field.
        widget=forms.TextInput(
            attrs={
                "data-people-picker": "one",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    roles = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices()  # type: ignore[attr-defined]
        # A chosen suggestion sets the Type select too.
        self.fields["name"].widget.attrs["data-people-kind"] = self["kind"].auto_id

    def clean(self) -> dict[str, Any]:
        """A name typed as a code (``user:alice``, ``group:data-team``) says its own kind."""
        data = super().clean() or {}
        kind, sep, name = str(data.get("name") or "").strip().partition(":")
        if sep and kind in {"user", "group"}:
            if not name.strip():
                self.add_error("name", "Give a name after the colon, e.g. user:alice.")
            else:
                data["kind"], data["name"] = kind, name.strip()
        return data

    def collaborator(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"entity": f"{data['kind']}:{data['name'].strip()}", "roles": data["roles"]}


class EntrySettingsForm(forms.Form):
    ungoverned_access = forms.BooleanField(
        required=False,
        label="Ungoverned access",
        help_text="Anyone who can see this model may download its files and pull its images "
        "without an approved access request.",
    )
    allow_templating = forms.BooleanField(
        required=False,
        label="Allow templating",
        help_text="Others may start their cards as a copy of this entry's card.",
    )

    def __init__(self, *args: Any, show_ungoverned: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not show_ungoverned:
            del self.fields["ungoverned_access"]

    def settings(self) -> dict[str, bool]:
        result = {"allowTemplating": self.cleaned_data["allow_templating"]}
        if "ungoverned_access" in self.fields:
            result["ungovernedAccess"] = self.cleaned_data["ungoverned_access"]
        return result


def collaborators_from_table(
    data: Any, current: list[dict[str, Any]], allowed_roles: set[str]
) -> list[dict[str, Any]]:
    """The collaborators table as posted: each row keeps its entity, takes the ticked roles and
    drops out when "remove" is ticked.

    Rows are matched by entity, not position, so a collaborator added by someone else since the
    page loaded is kept as it is rather than lost or overwritten.
    """
    posted = {entity: index for index, entity in enumerate(data.getlist("entity"))}
    result = []
    for row in current:
        entity = row["entity"]
        if entity not in posted:
            result.append(row)
            continue
        key = f"row-{posted[entity]}"
        if data.get(f"{key}-remove"):
            continue
        roles = [r for r in data.getlist(f"{key}-roles") if r in allowed_roles]
        result.append({"entity": entity, "roles": list(dict.fromkeys(roles))})
    return result
