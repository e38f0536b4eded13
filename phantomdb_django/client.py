"""``manage.py dbshell``: the interactive PhantomDB SQL shell."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from django.db.backends.base.client import BaseDatabaseClient

from .embedded import server_url


class DatabaseClient(BaseDatabaseClient):
    executable_name = "phantomdb"

    @classmethod
    def settings_to_cmd_args_env(
        cls, settings_dict: dict[str, Any], parameters: Iterable[str]
    ) -> tuple[list[str], dict[str, str] | None]:
        options = settings_dict.get("OPTIONS", {})
        args = [sys.executable, "-m", "phantomdb.shell", server_url(settings_dict), settings_dict["NAME"]]
        env: dict[str, str] = {}
        if settings_dict.get("USER"):
            args += ["--user", settings_dict["USER"]]
        # Secrets travel in the environment, never on a command line that `ps` shows.
        if settings_dict.get("PASSWORD"):
            env["PHANTOMDB_PASSWORD"] = settings_dict["PASSWORD"]
        if options.get("token"):
            env["PHANTOMDB_TOKEN"] = options["token"]
        return [*args, *parameters], env or None
