"""What PhantomDB can do, as Django asks it.

PhantomDB speaks SQLite-compatible SQL, so the sqlite3 backend's features are
the starting point; what differs is the transport (REST, transactions held on
the server) and the PhantomDB function library (LIKE that is right for case).
"""

import django
from django.db.backends.sqlite3 import features as sqlite3_features
from django.db.utils import InterfaceError
from django.utils.functional import cached_property


class DatabaseFeatures(sqlite3_features.DatabaseFeatures):
    minimum_database_version = (1,)
    # Transactions live on the server: Django turns autocommit off and the
    # client begins a PhantomDB transaction lazily at the first statement.
    autocommits_when_autocommit_is_off = False
    # Parameters per statement of bulk_create(), bulk_update() and in_bulk() batches, as on
    # Django's sqlite3 backend. The server takes 32766 (SQLite's limit since 3.32), but Django
    # builds a batch's SQL with a few objects per row that live until the batch is sent: past
    # a few hundred rows they survive into the garbage collector's old generation and set off
    # full passes over the whole heap (10,000 rows in batches of 8,191 spent about 190 ms in
    # the collector, in batches of 249 about 60 ms, as on sqlite3), more than the extra calls
    # cost (well under a millisecond each).
    max_query_params = 999
    can_alter_table_drop_column = True
    can_return_columns_from_insert = True
    can_return_rows_from_bulk_insert = True
    supports_json_field = True
    can_introspect_json_field = True
    has_json_object_function = True
    # LIKE is case-sensitive in the PhantomDB dialect; i-lookups use CASEFOLD().
    has_case_insensitive_like = False
    # A PhantomDB transaction holds the database's write lock from its start,
    # which is what SELECT ... FOR UPDATE promises, so the clause is dropped.
    has_select_for_update = False
    test_db_allows_multiple_connections = True
    # POST /databases/{db}/clone: the parallel test runner's workers get copies.
    can_clone_databases = True

    # django-stubs expects a DatabaseError subclass; a closed cursor is an InterfaceError, as in PEP 249.
    closed_cursor_error_class = InterfaceError  # type: ignore[assignment]

    django_test_expected_failures = {
        *sqlite3_features.DatabaseFeatures.django_test_expected_failures,
        # An auto-incrementing BIGINT key is stored as SQLite's INTEGER rowid
        # alias; the columns that reference it keep their declared BIGINT.
        "migrations.test_operations.OperationTests.test_alter_field_pk_mti_fk",
        "migrations.test_operations.OperationTests.test_alter_field_pk_mti_and_fk_to_base",
    }

    if django.VERSION >= (6,):
        django_test_expected_failures |= {
            # Django 6's test settings make BigAutoField the default: PhantomDB spells its
            # column bigint (stored as the INTEGER rowid alias), sqlite3 integer.
            "backends.sqlite.tests.SchemaTests.test_autoincrement",
        }

    # django-stubs declares these two as plain attributes; Django's sqlite3 features
    # makes them cached properties too.
    @cached_property
    def django_test_skips(self) -> dict[str, set[str]]:  # type: ignore[override]
        return {
            **super().django_test_skips,
            **self._django_6_test_skips(),
            "PhantomDB transactions always take the write lock when they begin; there is no "
            "transaction_mode option.": {
                "backends.sqlite.tests.TestTransactionMode",
            },
            "The PhantomDB server's version, not the local sqlite3 module's, decides what is supported.": {
                "backends.sqlite.tests.Tests.test_check_database_version_supported",
                "backends.sqlite.test_features.FeaturesTests.test_supports_json_field_operational_error",
            },
            "A PhantomDB transaction begins at its first statement, so an atomic block that has not "
            "run one yet can still switch foreign keys off for the schema editor.": {
                "backends.sqlite.tests.SchemaTests.test_disable_constraint_checking_failure_disallowed",
            },
            "The test closes its main connection when that connection was not open before the test "
            "(true of a file-less sqlite3 database, not of a PhantomDB one).": {
                "backends.sqlite.tests.ThreadSharing.test_database_sharing_in_threads",
            },
            "A PhantomDB transaction takes the database's write lock when it begins, so a second "
            "connection's transaction waits for the first, which the test keeps open (sqlite3 skips "
            "it: its in-memory test database allows one connection).": {
                "delete_regress.tests.DeleteLockingTest.test_concurrent_delete",
            },
            "dbshell runs the PhantomDB SQL shell against a server, not the sqlite3 program on a file.": {
                "dbshell.test_sqlite.SqliteDbshellCommandTestCase.test_non_zero_exit_status_when_path_to_db_is_path",
            },
            "The test database signature of a PhantomDB database is its server and name, not a file.": {
                "backends.sqlite.test_creation.TestDbSignatureTests.test_custom_test_name",
            },
            "A parallel test worker's clone of the PhantomDB test database is <NAME>_<N>: a database "
            "name has no file extension to keep at its end (the test wants test_1.sqlite3).": {
                "backends.sqlite.test_creation.TestDbSignatureTests.test_get_test_db_clone_settings_name",
            },
        }

    @staticmethod
    def _django_6_test_skips() -> dict[str, set[str]]:
        """Tests that Django 6 added to its sqlite3 backend's own, about the local sqlite3 module."""
        if django.VERSION < (6,):
            return {}
        return {
            "The PhantomDB server sets SQLite's limits; a PhantomDB connection has no "
            "getlimit()/setlimit() for a test to lower them.": {
                "backends.sqlite.test_features.FeaturesTests.test_max_query_params_respects_variable_limit",
                "backends.sqlite.test_operations.SQLiteOperationsTests."
                "test_bulk_batch_size_respects_variable_limit",
                "backends.sqlite.tests.LastExecutedQueryTest."
                "test_parameter_count_exceeds_variable_or_column_limit",
            },
            "A parallel test worker's PhantomDB database is a clone made on the server, not an "
            "SQLite file that the worker copies into memory with sqlite3.connect() and backup().": {
                "backends.sqlite.test_creation.TestDbSignatureTests."
                "test_setup_worker_connection_respects_test_database_name",
            },
        }

    @cached_property
    def introspected_field_types(self) -> dict[str, str]:  # type: ignore[override]
        return {
            **super().introspected_field_types,
            "BigAutoField": "AutoField",
            "DurationField": "BigIntegerField",
            "GenericIPAddressField": "CharField",
            "SmallAutoField": "AutoField",
        }
