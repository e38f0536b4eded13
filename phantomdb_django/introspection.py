"""Reading an existing PhantomDB database back into Django (``inspectdb``).

PhantomDB answers SQLite's catalog queries (``sqlite_master``, ``PRAGMA
table_info``) over the query call, so the sqlite3 introspection applies; it
only needs to know the PhantomDB type names as well, and that a positive
integer field is its integer type plus the ``CHECK ("col" >= 0)`` Django
writes (sqlite3 spells it ``integer unsigned`` instead).
"""

import re
from collections import namedtuple
from typing import Any, cast

from django.db.backends.sqlite3 import introspection as sqlite3_introspection

_FIELD_SIZE = re.compile(r"^\s*(?:var)?char\s*\(\s*(\d+)\s*\)\s*$", re.IGNORECASE)
_NON_NEGATIVE_CHECK = re.compile(r'CHECK \("((?:[^"]|"")+)" >= 0\)')
_POSITIVE_FIELDS = {
    "IntegerField": "PositiveIntegerField",
    "BigIntegerField": "PositiveBigIntegerField",
    "SmallIntegerField": "PositiveSmallIntegerField",
}

# sqlite3's FieldInfo plus whether the column has Django's CHECK ("col" >= 0).
# Its fields are sqlite3's, whatever the Django version, which a type checker
# cannot follow: hence Any.
FieldInfo: Any = cast(Any, namedtuple)(
    "FieldInfo", [*sqlite3_introspection.FieldInfo._fields, "has_non_negative_check"]
)


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

    def get_field_type(self, data_type: str, description: Any) -> str:
        field_type = super().get_field_type(data_type, description)
        if description.has_non_negative_check:
            return _POSITIVE_FIELDS.get(field_type, field_type)
        return field_type

    def get_table_description(self, cursor: Any, table_name: str) -> list[Any]:
        non_negative = self._non_negative_columns(cursor, table_name)
        return [
            FieldInfo(*self._with_size(info), info.name in non_negative)
            for info in super().get_table_description(cursor, table_name)
        ]

    @staticmethod
    def _with_size(info: Any) -> Any:
        # sqlite3 reads the size of "varchar(n)" only; PhantomDB types may be upper case.
        if info.display_size is not None or not (size := _FIELD_SIZE.match(info.type_code)):
            return info
        return info._replace(display_size=int(size[1]))

    @staticmethod
    def _non_negative_columns(cursor: Any, table_name: str) -> set[str]:
        """The columns with Django's ``CHECK ("col" >= 0)`` in the table's definition."""
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table_name])
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return set()
        return {name.replace('""', '"') for name in _NON_NEGATIVE_CHECK.findall(row[0])}
