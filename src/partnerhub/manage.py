"""The ``partnerhub`` command: Django's manage.py plus PartnerHub's own shortcuts.

``partnerhub serve`` runs the web + API process, ``partnerhub worker`` the background task
worker; ``partnerhub program load FILE`` and ``partnerhub demo`` are management commands; every
Django command (``migrate``, ``runserver``, ``createsuperuser``...) works as usual.
"""

from __future__ import annotations

import os
import sys

ALIASES = {"worker": ["db_worker"]}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] in ALIASES:
        argv = [argv[0], *ALIASES[argv[1]], *argv[2:]]
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
