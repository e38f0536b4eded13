"""Migrations: schema operations applied through PhantomDB, checked by introspection and by
the data that survives them.

Each test migrates a throwaway model (app ``schemaapp``, a table of its own)
with Django's migration operations and the backend's schema editor, exactly
as ``migrate`` does, and drops the table afterwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import django
import pytest
from django.db import IntegrityError, connection, migrations, models
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django.db.models.functions import Lower

from tests.backend.conftest import Phantom

APP = "schemaapp"
_table_numbers = itertools.count()


class Schema:
    """The migration state of the throwaway model, advanced one migration at a time."""

    def __init__(self, table: str):
        self.table = table
        self.state = ProjectState()
        self.migrations = itertools.count()

    def migrate(self, *operations: migrations.operations.base.Operation) -> Schema:
        migration = migrations.Migration(f"{next(self.migrations):04d}_step", APP)
        migration.operations = list(operations)
        with connection.schema_editor(atomic=migration.atomic) as editor:
            self.state = migration.apply(self.state, editor)
        return self

    def model(self, name: str = "Pony") -> type[models.Model]:
        return self.state.apps.get_model(APP, name)

    def columns(self) -> dict[str, Any]:
        with connection.cursor() as cursor:
            return {c.name: c for c in connection.introspection.get_table_description(cursor, self.table)}

    def constraints(self) -> dict[str, dict[str, Any]]:
        with connection.cursor() as cursor:
            return connection.introspection.get_constraints(cursor, self.table)


@pytest.fixture
def schema(phantom: Phantom) -> Iterator[Schema]:
    """A Pony model (name, weight) in a table unique to the test, with two rows."""
    table = f"schema_pony_{next(_table_numbers)}"
    schema = Schema(table).migrate(
        migrations.CreateModel(
            "Pony",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("name", models.CharField(max_length=50)),
                ("weight", models.IntegerField(default=1)),
            ],
            options={"db_table": table},
        )
    )
    schema.model().objects.bulk_create(
        [schema.model()(name="Ann", weight=3), schema.model()(name="Bob", weight=5)]
    )
    yield schema
    connection.close()
    with phantom.client() as client:
        for name in [t["name"] for t in client.list_tables(phantom.database)]:
            if name.startswith(table):  # the table, renamed or not, and its companions
                client.drop_table(phantom.database, name)


def rows(schema: Schema, *fields: str) -> list[tuple[Any, ...]]:
    return list(schema.model().objects.order_by("pk").values_list(*fields))


def test_create_model_creates_the_table_with_its_columns(schema: Schema) -> None:
    assert set(schema.columns()) == {"id", "name", "weight"}
    assert schema.table in connection.introspection.table_names()


def test_add_field_adds_a_nullable_column(schema: Schema) -> None:
    schema.migrate(migrations.AddField("Pony", "nickname", models.CharField(max_length=20, null=True)))
    assert schema.columns()["nickname"].null_ok is True
    assert rows(schema, "name", "nickname") == [("Ann", None), ("Bob", None)]


def test_add_field_with_a_default_fills_existing_rows(schema: Schema) -> None:
    schema.migrate(migrations.AddField("Pony", "legs", models.PositiveSmallIntegerField(default=4)))
    assert schema.columns()["legs"].null_ok is False
    assert rows(schema, "name", "legs") == [("Ann", 4), ("Bob", 4)]


def test_alter_field_changes_the_column_type_and_keeps_the_data(schema: Schema) -> None:
    schema.migrate(
        migrations.AlterField("Pony", "weight", models.DecimalField(max_digits=8, decimal_places=2))
    )
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, schema.table)
    weight = next(column for column in description if column.name == "weight")
    assert weight.type_code.lower().startswith("decimal")
    assert rows(schema, "weight") == [(Decimal("3.00"),), (Decimal("5.00"),)]


@pytest.mark.skipif(django.VERSION < (6,), reason="DecimalField needs max_digits before Django 6")
def test_a_decimal_field_without_precision_is_a_bare_decimal_column(schema: Schema) -> None:
    schema.migrate(migrations.AddField("Pony", "price", models.DecimalField(null=True)))
    assert schema.columns()["price"].type_code.lower() == "decimal"
    schema.model().objects.filter(name="Ann").update(price=Decimal("12.25"))
    assert rows(schema, "name", "price") == [("Ann", Decimal("12.25")), ("Bob", None)]


def test_create_leaves_a_db_default_to_the_database(schema: Schema) -> None:
    # Django 6 leaves the db_default column out of the INSERT: the values must still
    # land in the columns they belong to.
    schema.migrate(
        migrations.AddField("Pony", "legs", models.IntegerField(db_default=4)),
        migrations.AddField("Pony", "colour", models.CharField(max_length=10, null=True)),
    )
    schema.model().objects.create(name="Cid", weight=7, colour="grey")
    schema.model().objects.bulk_create([schema.model()(name="Dot", weight=9, colour="bay")])
    created = rows(schema, "name", "weight", "legs", "colour")[2:]
    assert created == [("Cid", 7, 4, "grey"), ("Dot", 9, 4, "bay")]


def test_alter_field_to_text_keeps_the_values(schema: Schema) -> None:
    schema.migrate(migrations.AlterField("Pony", "name", models.TextField()))
    assert schema.columns()["name"].type_code.lower() == "text"
    assert rows(schema, "name") == [("Ann",), ("Bob",)]


def test_alter_field_to_null_allows_null(schema: Schema) -> None:
    schema.migrate(migrations.AlterField("Pony", "name", models.CharField(max_length=50, null=True)))
    assert schema.columns()["name"].null_ok is True
    assert schema.model().objects.create(name=None).name is None


def test_alter_field_to_not_null_refuses_null(schema: Schema) -> None:
    schema.migrate(migrations.AlterField("Pony", "name", models.CharField(max_length=50, null=True)))
    schema.migrate(migrations.AlterField("Pony", "name", models.CharField(max_length=50)))
    assert schema.columns()["name"].null_ok is False
    with pytest.raises(IntegrityError):
        schema.model().objects.create(name=None)
    assert rows(schema, "name") == [("Ann",), ("Bob",)]


def test_remove_field_drops_the_column_and_keeps_the_rest(schema: Schema) -> None:
    schema.migrate(migrations.RemoveField("Pony", "weight"))
    assert set(schema.columns()) == {"id", "name"}
    assert rows(schema, "name") == [("Ann",), ("Bob",)]


def test_rename_field_renames_the_column_and_keeps_the_data(schema: Schema) -> None:
    schema.migrate(migrations.RenameField("Pony", "weight", "mass"))
    assert set(schema.columns()) == {"id", "name", "mass"}
    assert rows(schema, "name", "mass") == [("Ann", 3), ("Bob", 5)]


def test_rename_model_table_keeps_the_rows(schema: Schema) -> None:
    schema.migrate(migrations.AlterModelTable("Pony", f"{schema.table}_renamed"))
    schema.table = f"{schema.table}_renamed"
    assert schema.table in connection.introspection.table_names()
    assert rows(schema, "name") == [("Ann",), ("Bob",)]


def test_add_index_with_a_condition_creates_a_partial_index(schema: Schema) -> None:
    index = models.Index(fields=["weight"], name="heavy_ponies", condition=models.Q(weight__gt=4))
    schema.migrate(migrations.AddIndex("Pony", index))
    found = schema.constraints()["heavy_ponies"]
    assert found["index"] is True and found["columns"] == ["weight"]
    assert rows(schema, "name") == [("Ann",), ("Bob",)]


def test_add_index_with_expressions_creates_an_expression_index(schema: Schema) -> None:
    schema.migrate(migrations.AddIndex("Pony", models.Index(Lower("name"), name="pony_lower_name")))
    assert schema.constraints()["pony_lower_name"]["index"] is True


def test_a_unique_expression_index_is_enforced(schema: Schema) -> None:
    schema.migrate(
        migrations.AddConstraint("Pony", models.UniqueConstraint(Lower("name"), name="pony_name_ci"))
    )
    with pytest.raises(IntegrityError):
        schema.model().objects.create(name="ANN")


def test_a_unique_lower_constraint_folds_non_ascii_letters(schema: Schema) -> None:
    schema.migrate(
        migrations.AddConstraint("Pony", models.UniqueConstraint(Lower("name"), name="pony_name_ci"))
    )
    schema.model().objects.create(name="École")
    with pytest.raises(IntegrityError):
        schema.model().objects.create(name="ÉCOLE")


def test_remove_index_drops_it(schema: Schema) -> None:
    index = models.Index(fields=["name"], name="pony_name_idx")
    schema.migrate(migrations.AddIndex("Pony", index))
    schema.migrate(migrations.RemoveIndex("Pony", "pony_name_idx"))
    assert "pony_name_idx" not in schema.constraints()


def test_add_unique_constraint_is_enforced(schema: Schema) -> None:
    constraint = models.UniqueConstraint(fields=["name", "weight"], name="pony_name_weight_uniq")
    schema.migrate(migrations.AddConstraint("Pony", constraint))
    assert schema.constraints()["pony_name_weight_uniq"]["unique"] is True
    schema.model().objects.create(name="Ann", weight=4)
    with pytest.raises(IntegrityError):
        schema.model().objects.create(name="Ann", weight=3)


def test_add_check_constraint_is_enforced(schema: Schema) -> None:
    constraint = models.CheckConstraint(condition=models.Q(weight__gte=0), name="pony_weight_gte_0")
    schema.migrate(migrations.AddConstraint("Pony", constraint))
    assert schema.constraints()["pony_weight_gte_0"]["check"] is True
    with pytest.raises(IntegrityError):
        schema.model().objects.create(name="Negative", weight=-1)
    with pytest.raises(IntegrityError):
        schema.model().objects.filter(name="Ann").update(weight=-5)
    assert rows(schema, "weight") == [(3,), (5,)]


def test_remove_constraint_lifts_it(schema: Schema) -> None:
    constraint = models.CheckConstraint(condition=models.Q(weight__gte=0), name="pony_weight_gte_0")
    schema.migrate(migrations.AddConstraint("Pony", constraint))
    schema.migrate(migrations.RemoveConstraint("Pony", "pony_weight_gte_0"))
    assert schema.model().objects.create(name="Negative", weight=-1).weight == -1


def test_unique_field_added_later_is_enforced(schema: Schema) -> None:
    schema.migrate(migrations.AlterField("Pony", "name", models.CharField(max_length=50, unique=True)))
    with pytest.raises(IntegrityError):
        schema.model().objects.create(name="Bob")


def test_run_sql_runs_forwards_and_backwards(schema: Schema) -> None:
    operation = migrations.RunSQL(
        sql=[(f'INSERT INTO "{schema.table}" ("name", "weight") VALUES (%s, %s)', ["Cid", 7])],
        reverse_sql=[(f'DELETE FROM "{schema.table}" WHERE "name" = %s', ["Cid"])],
    )
    schema.migrate(operation)
    assert rows(schema, "name", "weight")[-1] == ("Cid", 7)
    with connection.schema_editor() as editor:
        before = schema.state.clone()
        operation.database_backwards(APP, editor, before, schema.state)
    assert [name for (name,) in rows(schema, "name")] == ["Ann", "Bob"]


def test_run_python_uses_the_historical_model(schema: Schema) -> None:
    def double_weights(apps, schema_editor) -> None:
        Pony = apps.get_model(APP, "Pony")
        for pony in Pony.objects.all():
            pony.weight *= 2
            pony.save()

    schema.migrate(migrations.RunPython(double_weights))
    assert rows(schema, "weight") == [(6,), (10,)]


def test_delete_model_drops_the_table(schema: Schema) -> None:
    schema.migrate(migrations.DeleteModel("Pony"))
    assert schema.table not in connection.introspection.table_names()


def test_add_foreign_key_field_references_the_target_and_is_enforced(schema: Schema) -> None:
    owners = f"{schema.table}_owner"
    schema.migrate(
        migrations.CreateModel(
            "Owner", [("id", models.AutoField(primary_key=True))], options={"db_table": owners}
        ),
        migrations.AddField("Pony", "owner", models.ForeignKey("Owner", models.CASCADE, null=True)),
    )
    with connection.cursor() as cursor:
        # Django 6 adds the database's ON DELETE as a third item.
        assert connection.introspection.get_relations(cursor, schema.table)["owner_id"][:2] == ("id", owners)
    owner = schema.model("Owner").objects.create()
    schema.model().objects.filter(name="Ann").update(owner=owner)
    with pytest.raises(IntegrityError):
        schema.model().objects.create(name="Orphan", owner_id=owner.pk + 100)
    schema.model("Owner").objects.all().delete()
    assert rows(schema, "name") == [("Bob",)]  # the cascade


def test_migrate_recorded_the_contrib_apps_migrations() -> None:
    applied = MigrationRecorder(connection).applied_migrations()
    assert {
        ("contenttypes", "0001_initial"),
        ("auth", "0001_initial"),
        ("admin", "0001_initial"),
        ("sessions", "0001_initial"),
    } <= set(applied)
