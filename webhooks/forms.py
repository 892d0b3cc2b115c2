"""The form behind "Add webhook" and "Edit webhook". It only reads the page's input; the service
(``webhooks.services``) checks it as it checks the API's, and its errors are put back beside the
field they are about (``add_service_error``)."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import ServiceErrorForm
from webhooks.models import Webhook, WebhookEvent

# The API property a service error names -> the form field that shows it.
FIELD_OF_PROPERTY = {
    "name": "name",
    "uri": "uri",
    "token": "token",
    "events": "events",
    "insecureSSL": "insecure_ssl",
    "active": "active",
}


class WebhookForm(ServiceErrorForm, forms.Form):
    FIELD_OF_PROPERTY = FIELD_OF_PROPERTY

    name = forms.CharField(label="Name", max_length=200)
    uri = forms.CharField(
        label="URL",
        max_length=2048,
        help_text="Bailo sends a POST request with a JSON body here for each event, e.g. "
        "https://ci.example.com/hooks/bailo.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    token = forms.CharField(
        label="Bearer token",
        required=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Optional. Sent as “Authorization: Bearer <token>”.",
    )
    remove_token = forms.BooleanField(label="Remove the bearer token", required=False)
    active = forms.BooleanField(label="Active: send events to this URL", required=False)
    insecure_ssl = forms.BooleanField(
        label="Do not verify the receiver's TLS certificate (insecure; for testing only)",
        required=False,
    )

    def __init__(self, *args: Any, webhook: Webhook | None = None, **kwargs: Any) -> None:
        if webhook is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": webhook.name,
                    "uri": webhook.uri,
                    "events": list(webhook.events),
                    "active": webhook.active,
                    "insecure_ssl": webhook.insecure_ssl,
                },
            )
        else:
            kwargs.setdefault("initial", {"events": list(WebhookEvent.values), "active": True})
        super().__init__(*args, **kwargs)
        self.webhook = webhook
        if webhook is None or not webhook.token:
            del self.fields["remove_token"]
        else:
            self.fields[
                "token"
            ].help_text = (
                "A token is set. Type a new one to replace it, or leave this empty to keep it."
            )

    def api_fields(self) -> dict[str, Any]:
        """The cleaned input as the API's body fields, for the service."""
        data = self.cleaned_data
        fields: dict[str, Any] = {
            "name": data["name"],
            "uri": data["uri"],
            "events": data["events"],
            "active": data["active"],
            "insecureSSL": data["insecure_ssl"],
        }
        if data.get("remove_token"):
            fields["token"] = ""
        elif data["token"] or self.webhook is None:
            fields["token"] = data["token"]
        return fields
