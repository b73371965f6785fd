"""The OpenAPI 3.1 document of the service, kept beside this module as ``openapi.json``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def openapi_bytes() -> bytes:
    """The document as stored (served as is at ``GET /openapi.json``)."""
    return resources.files(__package__).joinpath("openapi.json").read_bytes()


def openapi_document() -> dict[str, Any]:
    """The document, parsed."""
    document: dict[str, Any] = json.loads(openapi_bytes())
    return document
