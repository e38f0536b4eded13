"""Reading an existing PhantomDB database back into Django (``inspectdb``).

PhantomDB answers SQLite's catalog queries (``sqlite_master``, ``PRAGMA
table_info``) over the query call, so the sqlite3 introspection applies; it
only needs to know the PhantomDB type names as well.
"""

import re
from typing import Any

from django.db.backends.sqlite3 import introspection as sqlite3_introspection

_FIELD_SIZE = re.compile(r"^\s*(?:var)?char\s*\(\s*(\d+)\s*\)\s*$", re.IGNORECASE)


class FlexibleFieldLookupDict(sqlite3_introspection.FlexibleFieldLookupDict):
    base_data_types_reverse = {
        **sqlite3_introspection.FlexibleFieldLookupDict.base_data_types_reverse,
        "timestamp": "DateTimeField",
        "double": "FloatField",
        "double precision": "FloatField",
        "float": "FloatField",
        "json": "JSONField",
        "json text": "JSONField",
    }


class DatabaseIntrospection(sqlite3_introspection.DatabaseIntrospection):
    data_types_reverse = FlexibleFieldLookupDict()

    def get_table_description(self, cursor: Any, table_name: str) -> list[Any]:
        # sqlite3 reads the size of "varchar(n)" only; PhantomDB types may be upper case.
        return [
            info
            if info.display_size is not None or not (size := _FIELD_SIZE.match(info.type_code))
            else info._replace(display_size=int(size[1]))
            for info in super().get_table_description(cursor, table_name)
        ]
