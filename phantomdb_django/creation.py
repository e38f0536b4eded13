"""Test databases: created and dropped through the PhantomDB databases API.

Both are Calls of the connection (``create_database`` / ``drop_database``),
so they pass the executor chain like every other request.
"""

from __future__ import annotations

import sys
from typing import Any

from django.db.backends.base.creation import BaseDatabaseCreation

from phantomdb.errors import ProgrammingError


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

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        self._server().drop_database(test_database_name)
        # That connection speaks for the dropped database; destroy_test_db() now
        # restores NAME, and the next use must connect to that one.
        self.connection.close()

    def test_db_signature(self) -> tuple[Any, ...]:
        settings_dict = self.connection.settings_dict
        return (settings_dict["HOST"], settings_dict["OPTIONS"].get("data_dir"), self._get_test_db_name())
