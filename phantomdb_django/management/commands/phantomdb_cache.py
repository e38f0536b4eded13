"""``manage.py phantomdb_cache stats|clear [--database alias]``: the query cache of this process."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from phantomdb_django import cache


class Command(BaseCommand):
    help = "Show the query cache's counters (stats) or drop its entries (clear) for a database alias."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["stats", "clear"])
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database alias")

    def handle(self, *args: Any, action: str, database: str, **options: Any) -> None:
        if action == "clear":
            # Every table of the database: in shared mode every process drops what it cached.
            cache.invalidate(using=database)
            cache.clear(using=database)
            self.stdout.write(f"Invalidated the query cache of {database!r}.")
        else:
            self.stdout.write(json.dumps(cache.stats(using=database), indent=2, sort_keys=True))
