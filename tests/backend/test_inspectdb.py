"""inspectdb: reading PhantomDB tables back into Django models."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command

from tests.backend.conftest import Phantom


def inspect(*tables: str) -> list[str]:
    out = StringIO()
    call_command("inspectdb", *tables, stdout=out)
    return [line.strip() for line in out.getvalue().splitlines()]


def test_the_users_table_reads_back_as_the_product_documents_model() -> None:
    lines = inspect("users")
    model = lines[lines.index("class Users(models.Model):") :]
    assert model[1:7] == [
        "first_name = models.CharField(max_length=100)",
        "last_name = models.CharField(max_length=100)",
        "email = models.CharField(unique=True, max_length=254)",
        "age = models.IntegerField()",
        "is_active = models.BooleanField()",
        "created_at = models.DateTimeField()",
    ]
    assert "db_table = 'users'" in model


def test_a_one_to_one_field_reads_back_as_a_one_to_one_field() -> None:
    assert "user = models.OneToOneField(Users, models.DO_NOTHING)" in inspect("users", "profiles")


@pytest.mark.parametrize(
    "line",
    [
        "binary = models.BinaryField(blank=True, null=True)",
        "boolean = models.BooleanField(blank=True, null=True)",
        "date = models.DateField(blank=True, null=True)",
        "datetime = models.DateTimeField(blank=True, null=True)",
        "float = models.FloatField(blank=True, null=True)",
        "big_integer = models.BigIntegerField(blank=True, null=True)",
        "small_integer = models.SmallIntegerField(blank=True, null=True)",
        "json = models.JSONField(blank=True, null=True)",
        "text = models.TextField(blank=True, null=True)",
        "time = models.TimeField(blank=True, null=True)",
        "uuid = models.CharField(max_length=32, blank=True, null=True)",
    ],
)
def test_each_column_of_every_type_reads_back_as_its_field(line: str) -> None:
    assert line in inspect("testapp_everytype")


@pytest.fixture
def outside_table(phantom: Phantom) -> Iterator[str]:
    """A table made through the REST API's schema call, not by Django."""
    with phantom.client() as client:
        client.create_table(
            phantom.database,
            "catalog_item",
            columns=[
                {"name": "id", "type": "BIGINT", "primary_key": True, "auto_increment": True},
                {"name": "title", "type": "VARCHAR(80)", "nullable": False},
                {"name": "in_stock", "type": "BOOLEAN", "nullable": False, "default": True},
                {"name": "listed_at", "type": "TIMESTAMP"},
                {"name": "attributes", "type": "JSON"},
                {"name": "weight", "type": "DOUBLE"},
                {"name": "quantity", "type": "INTEGER", "nullable": False, "default": 0},
            ],
        )
        yield "catalog_item"
        client.drop_table(phantom.database, "catalog_item")


def test_a_table_made_through_the_rest_api_reads_back_with_the_right_field_types(outside_table: str) -> None:
    lines = inspect(outside_table)
    assert lines[lines.index("class CatalogItem(models.Model):") + 2 :][:5] == [
        "in_stock = models.BooleanField()",
        "listed_at = models.DateTimeField(blank=True, null=True)",
        "attributes = models.JSONField(blank=True, null=True)",
        "weight = models.FloatField(blank=True, null=True)",
        "quantity = models.IntegerField()",
    ]


def test_a_varchar_made_through_the_rest_api_keeps_its_max_length(outside_table: str) -> None:
    assert "title = models.CharField(max_length=80)" in inspect(outside_table)


@pytest.mark.parametrize(
    "line",
    [
        "positive_integer = models.PositiveIntegerField(blank=True, null=True)",
        "positive_big_integer = models.PositiveBigIntegerField(blank=True, null=True)",
        "positive_small_integer = models.PositiveSmallIntegerField(blank=True, null=True)",
    ],
)
def test_a_positive_integer_field_reads_back_as_itself_by_its_check(line: str) -> None:
    assert line in inspect("testapp_everytype")


def test_an_integer_column_without_the_check_stays_an_integer_field() -> None:
    assert "integer = models.IntegerField(blank=True, null=True)" in inspect("testapp_everytype")
