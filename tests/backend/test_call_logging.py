"""Logging: at DEBUG the ``phantomdb_django`` logger records every translated call (operation,
table, duration, SQL with placeholders) and never a parameter value; at INFO it is silent."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from django.db import IntegrityError, connection
from django.db.models import F

from tests.backend.testapp.models import User

LOGGER = "phantomdb_django"
SECRET_EMAIL = "s3cr3t@example.com"
SECRET_NAME = "Hunter2-Zoë"


def backend_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record for record in caplog.records if record.name == LOGGER or record.name.startswith(LOGGER + ".")
    ]


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    connection.ensure_connection()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        yield caplog


def call_line(operation: str, subject: str) -> re.Pattern[str]:
    return re.compile(rf"^{operation} {re.escape(subject)} in \d+\.\d+ ms: ")


@pytest.mark.parametrize(
    ("statement", "operation", "subject"),
    [
        pytest.param(lambda: list(User.objects.filter(age__gt=18)), "select", "users", id="filter"),
        pytest.param(
            lambda: User.objects.create(first_name="A", last_name="B", email="a@example.com"),
            "insert",
            "users",
            id="create",
        ),
        pytest.param(
            lambda: User.objects.filter(age=1).update(age=F("age") + 1), "update", "users", id="update"
        ),
        pytest.param(
            lambda: User.objects.filter(age=1)._raw_delete("default"), "delete", "users", id="delete"
        ),
        pytest.param(lambda: User.objects.count(), "query", "SELECT", id="aggregate"),
    ],
)
def test_each_call_is_logged_at_debug_with_operation_table_and_duration(
    debug_log: pytest.LogCaptureFixture, statement, operation: str, subject: str
) -> None:
    statement()
    records = backend_records(debug_log)
    assert len(records) == 1, [record.getMessage() for record in records]
    record = records[0]
    assert record.levelno == logging.DEBUG
    assert call_line(operation, subject).match(record.getMessage()), record.getMessage()


def test_executemany_is_logged_at_debug_as_one_batch_call(debug_log: pytest.LogCaptureFixture) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO testapp_event (name, happened_at) VALUES (%s, %s)",
            [("a", "2026-01-01 00:00:00"), ("b", "2026-01-02 00:00:00")],
        )
    messages = [record.getMessage() for record in backend_records(debug_log)]
    assert len(messages) == 1, messages
    assert call_line("batch", "INSERT").match(messages[0]), messages


def test_the_logged_sql_keeps_its_placeholders(debug_log: pytest.LogCaptureFixture) -> None:
    list(User.objects.filter(first_name="Ann", age__gte=21))
    (record,) = backend_records(debug_log)
    message = record.getMessage()
    assert '"users"."first_name" = %s' in message
    assert "Ann" not in message and "21" not in message


def test_a_failed_call_is_logged_too(debug_log: pytest.LogCaptureFixture) -> None:
    User.objects.create(first_name="A", last_name="B", email="dup@example.com")
    debug_log.clear()
    with pytest.raises(IntegrityError):
        User.objects.create(first_name="A", last_name="B", email="dup@example.com")
    assert [
        call_line("insert", "users").match(r.getMessage()) is not None for r in backend_records(debug_log)
    ] == [True]


def test_parameter_values_never_reach_the_backend_logger(caplog: pytest.LogCaptureFixture) -> None:
    connection.ensure_connection()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger(LOGGER).setLevel(logging.DEBUG)
        try:
            user = User.objects.create(first_name=SECRET_NAME, last_name="L", email=SECRET_EMAIL)
            list(User.objects.filter(email=SECRET_EMAIL))
            User.objects.filter(email=SECRET_EMAIL).update(last_name=SECRET_NAME)
            User.objects.filter(email__icontains=SECRET_EMAIL).count()
            list(User.objects.raw("SELECT * FROM users WHERE email = %s", [SECRET_EMAIL]))
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM users WHERE email = %s", [SECRET_EMAIL])
            with pytest.raises(IntegrityError):
                User.objects.create(first_name=SECRET_NAME, last_name="L", email=SECRET_EMAIL)
            User.objects.filter(pk=user.pk, email=SECRET_EMAIL)._raw_delete("default")
        finally:
            logging.getLogger(LOGGER).setLevel(logging.NOTSET)
    records = backend_records(caplog)
    assert len(records) >= 8
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        assert SECRET_EMAIL not in text
        assert SECRET_NAME not in text
        assert "s3cr3t" not in text


def test_nothing_is_logged_per_call_at_info(caplog: pytest.LogCaptureFixture) -> None:
    connection.ensure_connection()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger(LOGGER).setLevel(logging.INFO)
        try:
            User.objects.create(first_name="A", last_name="B", email="info@example.com")
            list(User.objects.filter(email="info@example.com"))
            User.objects.update(age=3)
            User.objects.count()
        finally:
            logging.getLogger(LOGGER).setLevel(logging.NOTSET)
    assert backend_records(caplog) == []
