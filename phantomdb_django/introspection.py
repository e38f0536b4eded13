"""Reading an existing PhantomDB database back into Django (``inspectdb``).

PhantomDB answers SQLite's catalog queries (``sqlite_master``, ``PRAGMA
table_info``) over the query call, so the sqlite3 introspection applies; it
only needs to know the PhantomDB type names as well.
"""

from django.db.backends.sqlite3 import introspection as sqlite3_introspection


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
