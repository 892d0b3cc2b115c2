"""The forms behind "Create service" and a service's settings. They read the page's input only;
the service (``inference.services``) checks it as it checks the API's, and its errors are put
back beside the field they name (``add_service_error``)."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import ServiceErrorForm
from inference.models import CPU, InferenceService
from inference.services import MEMORY_RANGE

FIELD_OF_PROPERTY = {
    "image": "image",
    "tag": "image",
    "description": "description",
    "settings.processorType": "processor_type",
    "settings.port": "port",
    "settings.memory": "memory",
    "settings": "port",
}


class InferenceForm(ServiceErrorForm, forms.Form):
    FIELD_OF_PROPERTY = FIELD_OF_PROPERTY

    """Create (with ``images``: the entry's ``name:tag`` choices) or change (``service``) one."""

    description = forms.CharField(label="Description", widget=forms.Textarea(attrs={"rows": 3}))
    image = forms.ChoiceField(
        label="Image", help_text="One of this model's images in the registry, as name:tag."
    )
    port = forms.IntegerField(
        label="Port",
        min_value=1,
        max_value=65535,
        help_text="The port the image's server listens on inside its container.",
    )
    processor_type = forms.ChoiceField(label="Processor type")
    memory = forms.IntegerField(
        label="Memory (GB)",
        required=False,
        min_value=MEMORY_RANGE[0],
        max_value=MEMORY_RANGE[1],
        help_text=f"For cpu services only: {MEMORY_RANGE[0]} to {MEMORY_RANGE[1]} GB. "
        "Leave empty for a GPU.",
    )

    def __init__(
        self,
        *args: Any,
        processors: list[str],
        images: list[str] | None = None,
        service: InferenceService | None = None,
        **kwargs: Any,
    ) -> None:
        if service is not None:
            kwargs.setdefault(
                "initial",
                {
                    "description": service.description,
                    "port": service.port,
                    "processor_type": service.processor_type,
                    "memory": service.memory,
                },
            )
        else:
            kwargs.setdefault("initial", {"processor_type": CPU, "memory": 1})
        super().__init__(*args, **kwargs)
        self.service = service
        processor_field = self.fields["processor_type"]
        assert isinstance(processor_field, forms.ChoiceField)
        processor_field.choices = [(p, p) for p in processors]
        if service is not None:
            del self.fields["image"]  # a service's image and tag are what it is
        else:
            choices = [(i, i) for i in images or []]
            image_field = self.fields["image"]
            assert isinstance(image_field, forms.ChoiceField)
            image_field.choices = [("", "Choose an image"), *choices]

    def api_fields(self) -> dict[str, Any]:
        """The cleaned input as the API's body fields, for the service."""
        data = self.cleaned_data
        chosen: dict[str, Any] = {"processorType": data["processor_type"], "port": data["port"]}
        if data["processor_type"] == CPU:
            chosen["memory"] = data.get("memory")
        fields: dict[str, Any] = {"description": data["description"], "settings": chosen}
        if "image" in data:
            image, _, tag = data["image"].rpartition(":")
            fields.update({"image": image, "tag": tag})
        return fields
