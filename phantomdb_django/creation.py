"""Test databases: created, cloned and dropped through the PhantomDB databases API.

All three are Calls of the connection (``create_database``, ``clone_database``,
``drop_database``), so they pass the executor chain like every other request.
The parallel test runner's workers each get a server-side clone of the
migrated test database, as PostgreSQL's ``CREATE DATABASE ... TEMPLATE``.
"""

from __future__ import annotations

import sys
from typing import Any

from django.db.backends.base.creation import BaseDatabaseCreation

from phantomdb.errors import ProgrammingError

from .embedded import server_url


class DatabaseCreation(BaseDatabaseCreation):
    def _get_test_db_name(self) -> str:
        settings_dict = self.connection.settings_dict
        return settings_dict["TEST"]["NAME"] or f"test_{settings_dict['NAME']}"

    def _server(self) -> Any:
        """The open PEP 249 connection, whose calls reach the server."""
        self.connection.ensure_connection()
        return self.connection.connection

    def _create_test_db(self, verbosity: int, autoclobber: bool, keepdb: bool = False) -> str:
        name = self._get_test_db_name()
        server = self._server()
        try:
            server.create_database(name)
        except ProgrammingError as exc:
            if exc.code != "database_exists":
                raise
            if keepdb:
                return name
            if not autoclobber:
                confirm = input(
                    f"Type 'yes' if you would like to try deleting the test database '{name}', "
                    "or 'no' to cancel: "
                )
                if confirm != "yes":
                    self.log("Tests cancelled.")
                    sys.exit(1)
            if verbosity >= 1:
                display = self._get_database_display_str(verbosity, name)  # type: ignore[attr-defined]
                self.log(f"Destroying old test database for alias {display}...")
            server.drop_database(name)
            server.create_database(name)
        return name

    def get_test_db_clone_settings(self, suffix: str) -> dict[str, Any]:
        """Worker ``suffix``'s database, ``<NAME>_<suffix>``, on the server the test database is on.

        ``HOST`` names that server's URL, so that a worker reaches the embedded
        PhantomDB Lite its parent process started (inherited on fork) as a remote
        server, and never creates a missing clone empty as the embedded default would.
        """
        settings_dict = self.connection.settings_dict
        name = f"{settings_dict['NAME']}_{suffix}"
        return {**settings_dict, "NAME": name, "HOST": server_url(settings_dict)}

    def _clone_test_db(self, suffix: str, verbosity: int, keepdb: bool = False) -> None:
        source = self.connection.settings_dict["NAME"]
        target = self.get_test_db_clone_settings(suffix)["NAME"]
        server = self._server()
        try:
            server.clone_database(source, target)
        except ProgrammingError as exc:
            if exc.code != "database_exists":
                raise
            if keepdb:
                return
            if verbosity >= 1:
                display = self._get_database_display_str(verbosity, target)  # type: ignore[attr-defined]
                self.log(f"Destroying old test database for alias {display}...")
            server.drop_database(target)
            server.clone_database(source, target)

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        self._server().drop_database(test_database_name)
        # That connection speaks for the dropped database; destroy_test_db() now
        # restores NAME, and the next use must connect to that one.
        self.connection.close()

    def test_db_signature(self) -> tuple[Any, ...]:
        settings_dict = self.connection.settings_dict
        return (settings_dict["HOST"], settings_dict["OPTIONS"].get("data_dir"), self._get_test_db_name())
