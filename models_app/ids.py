"""Bailo's identifiers: a slug of the name, a dash and six random ``[0-9a-z]``."""

from __future__ import annotations

import re
import secrets
import string

_ALPHABET = string.digits + string.ascii_lowercase


def slugify_name(name: str, limit: int = 128) -> str:
    kept = re.sub(r"[^a-z0-9 ]", "", name.lower())
    slug = re.sub(r" +", "-", kept.strip())
    return slug[:limit].strip("-")


def new_entry_id(name: str) -> str:
    slug = slugify_name(name) or "entry"
    return f"{slug}-{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"
