"""``partnerhub export_openapi [FILE]``: write the API's OpenAPI document (stdout by default)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand


def openapi_document() -> str:
    from partnerhub.core.api import api

    return (
        json.dumps(api.get_openapi_schema(path_prefix="/api/v1"), indent=2, sort_keys=True) + "\n"
    )


class Command(BaseCommand):
    help = "Write the OpenAPI document of /api/v1 (the committed copy is docs/openapi.json)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")

    def handle(self, *args, file: str | None = None, **options):
        document = openapi_document()
        if file:
            with open(file, "w", encoding="utf-8") as fh:
                fh.write(document)
            self.stdout.write(f"wrote {file}")
        else:
            self.stdout.write(document, ending="")
