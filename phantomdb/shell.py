"""The interactive PhantomDB SQL shell (``manage.py dbshell``, ``python -m phantomdb.shell``).

    python -m phantomdb.shell URL DATABASE [--user U] [-c SQL]

The password and token come from PHANTOMDB_PASSWORD / PHANTOMDB_TOKEN, never
the command line. Statements end with ``;``. Meta commands: ``\\l`` databases,
``\\dt`` tables, ``\\d TABLE`` describe, ``\\q`` quit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from phantomdb.client import PhantomDB, Result
from phantomdb.errors import PhantomDBError

PROMPT, CONTINUATION = "phantomdb> ", "      ...> "


def format_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows as an aligned text table, NULL for None."""
    cells = [["NULL" if value is None else str(value) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    lines = [" | ".join(name.ljust(width) for name, width in zip(columns, widths))]
    lines.append("-+-".join("-" * width for width in widths))
    lines += [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines)


class Shell:
    def __init__(self, client: PhantomDB, database: str, out: TextIO = sys.stdout):
        self.client = client
        self.database = database
        self.out = out

    def run_meta(self, command: str) -> bool:
        """Run a backslash command; False means quit."""
        name, _, argument = command.partition(" ")
        if name == "\\q":
            return False
        if name == "\\l":
            names = [[db["name"]] for db in self.client.list_databases()]
            print(format_table(["database"], names), file=self.out)
        elif name == "\\dt":
            tables = [[t["name"], t["type"]] for t in self.client.list_tables(self.database)]
            print(format_table(["table", "type"], tables), file=self.out)
        elif name == "\\d" and argument:
            description = self.client.describe_table(self.database, argument.strip())
            rows = [
                [c["name"], c["type"], "yes" if c.get("nullable", True) else "no", c.get("default")]
                for c in description["columns"]
            ]
            print(format_table(["column", "type", "nullable", "default"], rows), file=self.out)
        else:
            print(f"Unknown command {command!r}: \\l, \\dt, \\d TABLE, \\q", file=self.out)
        return True

    def run_sql(self, sql: str) -> None:
        result: Result = self.client.execute_query(self.database, sql)
        if result.columns:
            print(format_table(result.columns, result.rows), file=self.out)
        else:
            print(f"OK, {max(result.rowcount, 0)} row(s) affected", file=self.out)

    def run_one(self, text: str) -> bool:
        text = text.strip().rstrip(";").strip()
        if not text:
            return True
        try:
            if text.startswith("\\"):
                return self.run_meta(text)
            self.run_sql(text)
        except PhantomDBError as exc:
            print(f"{type(exc).__name__}: {exc}", file=self.out)
        return True

    def loop(self, lines: TextIO, interactive: bool) -> None:
        buffer: list[str] = []
        while True:
            if interactive:
                try:
                    line = input(CONTINUATION if buffer else PROMPT)
                except EOFError:
                    print(file=self.out)
                    break
            else:
                line = lines.readline()
                if not line:
                    break
            buffer.append(line)
            statement = "\n".join(buffer).strip()
            if statement.startswith("\\") or statement.endswith(";"):
                buffer.clear()
                if not self.run_one(statement):
                    break
        if buffer:
            self.run_one("\n".join(buffer))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phantomdb.shell", description="PhantomDB SQL shell")
    parser.add_argument("url")
    parser.add_argument("database")
    parser.add_argument("--user")
    parser.add_argument("-c", "--command", help="run one statement and exit")
    arguments = parser.parse_args(argv)
    client = PhantomDB(
        arguments.url,
        user=arguments.user,
        password=os.environ.get("PHANTOMDB_PASSWORD"),
        token=os.environ.get("PHANTOMDB_TOKEN"),
    )
    shell = Shell(client, arguments.database)
    with client:
        if arguments.command:
            shell.run_one(arguments.command)
        else:
            interactive = sys.stdin.isatty()
            if interactive:
                print(f"PhantomDB shell: database {arguments.database!r} on {arguments.url}. \\q quits.")
            shell.loop(sys.stdin, interactive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
