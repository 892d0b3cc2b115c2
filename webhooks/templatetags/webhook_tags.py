"""The settings page's "Webhooks" section: the entry's webhooks with their latest delivery.

The section's template (``webhooks/_settings_section.html``) is included by the entry's settings
page, which knows nothing of webhooks; this tag loads what it lists, in one query.
"""

from __future__ import annotations

from typing import Any

from django import template

from webhooks import selectors
from webhooks.models import WebhookEvent

register = template.Library()

ALL_EVENTS = frozenset(WebhookEvent.values)


@register.inclusion_tag("webhooks/_section_body.html", takes_context=True)
def webhooks_section(context: template.Context) -> dict[str, Any]:
    model = context["model"]
    labels = dict(WebhookEvent.choices)
    rows = [
        {
            "webhook": webhook,
            "all_events": set(webhook.events) >= ALL_EVENTS,
            "events": [labels.get(e, e) for e in webhook.events],
        }
        for webhook in selectors.webhook_list(model=model)
    ]
    return {"model": model, "rows": rows, "csrf_token": context.get("csrf_token")}
