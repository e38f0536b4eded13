"""The PhantomDB SQL dialect on SQLite: its column types, and the DDL rewrites that store them.

PhantomDB types are written the way Django and most SQL databases write them
(``BIGINT``, ``VARCHAR(254)``, ``JSON``...). SQLite accepts any type name but
derives a column's *affinity* from it, and two of those names would behave
wrongly if stored as written (docs/sql-dialect-types.md):

- ``BIGINT``/``SMALLINT``/``INT PRIMARY KEY AUTOINCREMENT`` is refused by
  SQLite, and without ``AUTOINCREMENT`` it is not the rowid, so keys are not
  generated. Stored as ``INTEGER`` it is the rowid and really auto-increments.
- ``JSON`` has NUMERIC affinity, which turns the document ``'1'`` into the
  integer 1. Stored as ``JSON TEXT`` (still one valid type name) it has TEXT
  affinity; descriptions report it back as ``JSON``.

``translate_ddl`` applies both rewrites to SQL sent to ``POST /query``; the
schema calls render their DDL with PhantomDB types and pass it through the same
function, so both paths store a table identically. The tokenizer and the
``CREATE TABLE`` parser here are shared with ``schema`` (describe and remake).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ---- tokens -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<blob>[xX]'[^']*'?)
  | (?P<string>'(?:[^']|'')*'?)
  | (?P<quoted>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d][\w$]*)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_TERMINATED = {
    "string": re.compile(r"'(?:[^']|'')*'", re.DOTALL),
    "blob": re.compile(r"[xX]'[^']*'"),
    "quoted": re.compile(r'"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]', re.DOTALL),
    "comment": re.compile(r"--[^\n]*|/\*.*\*/", re.DOTALL),
}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token of SQL, with its place in the source so that rewrites can splice."""

    kind: str  # space, comment, blob, string, quoted, number, word, punct
    text: str
    start: int
    end: int

    @property
    def keyword(self) -> str:
        """The upper-cased word, or '' for anything that is not a bare word."""
        return self.text.upper() if self.kind == "word" else ""

    @property
    def terminated(self) -> bool:
        pattern = _TERMINATED.get(self.kind)
        return pattern is None or pattern.fullmatch(self.text) is not None


def tokenize(sql: str) -> list[Token]:
    """Every token of ``sql``, whitespace and comments included."""
    return [Token(m.lastgroup or "punct", m.group(), m.start(), m.end()) for m in _TOKEN.finditer(sql)]


def significant(sql: str) -> list[Token]:
    """The tokens that SQLite's parser sees: no whitespace, no comments."""
    return [t for t in tokenize(sql) if t.kind not in ("space", "comment")]


def quote(name: str) -> str:
    """An identifier as a double-quoted SQL name, safe for any text."""
    return '"' + name.replace('"', '""') + '"'


def unquote(token: Token) -> str:
    """The name an identifier token stands for (SQLite also accepts '...' as a name)."""
    text = token.text
    if token.kind == "quoted":
        if text[0] == "[":
            return text[1:-1]
        return text[1:-1].replace(text[0] * 2, text[0])
    if token.kind == "string":
        return text[1:-1].replace("''", "'")
    return text


def matching_paren(tokens: list[Token], i: int) -> int:
    """The index of the ')' that closes the '(' at ``i`` (len(tokens) if unbalanced)."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].text == "(":
            depth += 1
        elif tokens[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    return len(tokens)


def split_top_level(tokens: list[Token], lo: int, hi: int) -> list[tuple[int, int]]:
    """The [a, b) ranges of tokens[lo:hi] separated by commas outside parentheses."""
    ranges, start, i = [], lo, lo
    while i < hi:
        if tokens[i].text == "(":
            i = matching_paren(tokens, i)
        elif tokens[i].text == ",":
            ranges.append((start, i))
            start = i + 1
        i += 1
    if start < hi:
        ranges.append((start, hi))
    return ranges


# ---- types --------------------------------------------------------------------------------------

# PhantomDB type name -> how many parameters it takes.
TYPES: dict[str, tuple[int, ...]] = {
    "INTEGER": (0,),
    "INT": (0,),
    "BIGINT": (0,),
    "SMALLINT": (0,),
    "BOOLEAN": (0,),
    "VARCHAR": (0, 1),
    "CHAR": (0, 1),
    "TEXT": (0,),
    "BLOB": (0,),
    "DATE": (0,),
    "TIME": (0,),
    "TIMESTAMP": (0,),
    "DATETIME": (0,),
    "DECIMAL": (0, 1, 2),
    "NUMERIC": (0, 1, 2),
    "DOUBLE": (0,),
    "DOUBLE PRECISION": (0,),
    "REAL": (0,),
    "FLOAT": (0,),
    "JSON": (0,),
}
INTEGER_TYPES = frozenset({"INTEGER", "INT", "BIGINT", "SMALLINT"})
_AUTO_INCREMENT_REWRITE = frozenset({"INT", "BIGINT", "SMALLINT"})
JSON_STORAGE = "JSON TEXT"
_TYPE_SYNTAX = re.compile(r"\s*([A-Za-z]+(?:\s+[A-Za-z]+)?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*")


def canonical_type(text: str) -> str | None:
    """``text`` as a canonical PhantomDB type (``varchar( 20 )`` -> ``VARCHAR(20)``), or None."""
    match = _TYPE_SYNTAX.fullmatch(text)
    if match is None:
        return None
    name = " ".join(match.group(1).upper().split())
    params = [int(p) for p in match.groups()[1:] if p is not None]
    if len(params) not in TYPES.get(name, ()):
        return None
    if name in ("VARCHAR", "CHAR") and params and params[0] < 1:
        return None
    if len(params) == 2 and not params[1] <= params[0]:
        return None
    return f"{name}({', '.join(map(str, params))})" if params else name


def phantomdb_type(declared: str) -> str:
    """The PhantomDB type of a column SQLite declares as ``declared`` (what describe reports).

    A column without a type has no affinity, which is what ``BLOB`` means to
    SQLite; types outside the PhantomDB list are reported as declared.
    """
    if not declared.strip():
        return "BLOB"
    if " ".join(declared.upper().split()) == JSON_STORAGE:
        return "JSON"
    return canonical_type(declared) or declared


def storage_type(type_words: str, *, auto_increment: bool) -> str | None:
    """The type SQLite must store for a column written as ``type_words``; None to keep it."""
    name = type_words.upper()
    if auto_increment and name in _AUTO_INCREMENT_REWRITE:
        return "INTEGER"
    if name == "JSON":
        return JSON_STORAGE
    return None


# ---- column definitions -------------------------------------------------------------------------

_CLAUSE_START = frozenset(
    {
        "CONSTRAINT",
        "PRIMARY",
        "NOT",
        "NULL",
        "UNIQUE",
        "CHECK",
        "DEFAULT",
        "COLLATE",
        "REFERENCES",
        "GENERATED",
        "AS",
    }
)
_CLAUSE_KIND = {
    "PRIMARY": "primary_key",
    "NOT": "not_null",
    "NULL": "null",
    "UNIQUE": "unique",
    "CHECK": "check",
    "DEFAULT": "default",
    "COLLATE": "collate",
    "REFERENCES": "references",
    "GENERATED": "generated",
    "AS": "generated",
    "FOREIGN": "foreign_key",
}
_TABLE_CONSTRAINT_START = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"})


@dataclass
class Reference:
    """The target of a foreign key, as written after REFERENCES."""

    table: str
    columns: list[str]
    on_delete: str = "NO ACTION"
    deferrable: bool = False  # DEFERRABLE INITIALLY DEFERRED: checked at commit


@dataclass
class Clause:
    """One constraint of a column or a table, kept as written so that a remake preserves it."""

    kind: str  # primary_key, not_null, null, unique, check, default, collate, references, generated,
    #            foreign_key, other
    name: str | None
    text: str
    expression: str = ""  # CHECK (...) and DEFAULT's term
    columns: list[str] = field(default_factory=list)  # a table constraint's column list
    reference: Reference | None = None
    auto_increment: bool = False


@dataclass
class ColumnDefinition:
    """A column as written in CREATE TABLE: name, declared type and constraint clauses."""

    name: str
    type: str
    clauses: list[Clause]

    def sql(self) -> str:
        parts = [quote(self.name), self.type, *(c.text for c in self.clauses)]
        return " ".join(p for p in parts if p)

    def clause(self, kind: str) -> Clause | None:
        return next((c for c in self.clauses if c.kind == kind), None)


@dataclass
class TableDefinition:
    """A parsed CREATE TABLE: what a remake edits and renders again under a new name."""

    columns: list[ColumnDefinition]
    constraints: list[Clause]
    options: str  # WITHOUT ROWID, STRICT

    def sql(self, name: str) -> str:
        items = [c.sql() for c in self.columns] + [c.text for c in self.constraints]
        return f"CREATE TABLE {quote(name)} (\n  " + ",\n  ".join(items) + f"\n){self.options}"

    def column(self, name: str) -> ColumnDefinition | None:
        folded = name.casefold()
        return next((c for c in self.columns if c.name.casefold() == folded), None)


def _text(sql: str, tokens: list[Token], a: int, b: int) -> str:
    return sql[tokens[a].start : tokens[b - 1].end] if a < b else ""


def _names(tokens: list[Token], a: int, b: int) -> list[str]:
    """The column names of a parenthesised list, ignoring COLLATE and ASC/DESC."""
    return [unquote(tokens[x]) for x, _ in split_top_level(tokens, a, b)]


def _reference(tokens: list[Token], a: int, b: int) -> Reference:
    """Parse ``REFERENCES table [(columns)] [ON DELETE ...] [[NOT] DEFERRABLE [INITIALLY ...]]``."""
    table = unquote(tokens[a + 1]) if a + 1 < b else ""
    columns: list[str] = []
    i = a + 2
    if i < b and tokens[i].text == "(":
        close = matching_paren(tokens, i)
        columns = _names(tokens, i + 1, close)
        i = close + 1
    words = [t.keyword for t in tokens[i:b]]
    on_delete = "NO ACTION"
    for j in range(len(words) - 2):
        if words[j] == "ON" and words[j + 1] == "DELETE":
            on_delete = " ".join(words[j + 2 : j + (4 if words[j + 2] in ("SET", "NO") else 3)])
    deferred = " ".join(words).find("INITIALLY DEFERRED")
    deferrable = deferred >= 0 and "NOT DEFERRABLE" not in " ".join(words)
    return Reference(table, columns, on_delete, deferrable)


def _clauses(sql: str, tokens: list[Token], i: int, b: int) -> list[Clause]:
    """Split a column's constraints (tokens[i:b]) into clauses."""
    clauses = []
    while i < b:
        start, name = i, None
        if tokens[i].keyword == "CONSTRAINT" and i + 1 < b:
            name, i = unquote(tokens[i + 1]), i + 2
        keyword = tokens[i].keyword if i < b else ""
        kind = _CLAUSE_KIND.get(keyword, "other")
        body = i + 1
        i += 1
        if kind == "not_null" and i < b and tokens[i].keyword == "NULL":
            i += 1
        elif kind == "default" and i < b:
            i = (
                matching_paren(tokens, i) + 1
                if tokens[i].text == "("
                else i + (2 if tokens[i].text in "+-" else 1)
            )
        elif keyword == "GENERATED":
            while i < b and tokens[i].keyword != "AS":
                i += 1
            i += 1
        while i < b:
            token = tokens[i]
            if token.text == "(":
                i = matching_paren(tokens, i) + 1
                continue
            word = token.keyword
            if word in _CLAUSE_START and not (
                kind == "references"
                and (
                    (word == "NOT" and i + 1 < b and tokens[i + 1].keyword == "DEFERRABLE")
                    or (word in ("NULL", "DEFAULT") and tokens[i - 1].keyword == "SET")
                )
            ):
                break
            i += 1
        clause = Clause(kind, name, _text(sql, tokens, start, i))
        if kind == "check" and body < i and tokens[body].text == "(":
            clause.expression = _text(sql, tokens, body + 1, matching_paren(tokens, body))
        elif kind == "default":
            clause.expression = _text(sql, tokens, body, i)
        elif kind == "references":
            clause.reference = _reference(tokens, body - 1, i)
        elif kind == "primary_key":
            clause.auto_increment = any(t.keyword == "AUTOINCREMENT" for t in tokens[body:i])
        clauses.append(clause)
    return clauses


def _type_end(tokens: list[Token], a: int, b: int) -> int:
    """The index after a column's type name, which starts at ``a``."""
    i = a
    while i < b and tokens[i].kind == "word" and tokens[i].keyword not in _CLAUSE_START:
        i += 1
    if i > a and i < b and tokens[i].text == "(":
        i = min(matching_paren(tokens, i) + 1, b)
    return i


def _column(sql: str, tokens: list[Token], a: int, b: int) -> ColumnDefinition:
    type_end = _type_end(tokens, a + 1, b)
    return ColumnDefinition(
        unquote(tokens[a]), _text(sql, tokens, a + 1, type_end), _clauses(sql, tokens, type_end, b)
    )


def _table_constraint(sql: str, tokens: list[Token], a: int, b: int) -> Clause:
    name, i = None, a
    if tokens[i].keyword == "CONSTRAINT" and i + 1 < b:
        name, i = unquote(tokens[i + 1]), i + 2
    clause = Clause(
        _CLAUSE_KIND.get(tokens[i].keyword if i < b else "", "other"), name, _text(sql, tokens, a, b)
    )
    paren = next((j for j in range(i, b) if tokens[j].text == "("), b)
    close = matching_paren(tokens, paren) if paren < b else b
    if clause.kind == "check":
        clause.expression = _text(sql, tokens, paren + 1, close)
    elif clause.kind in ("primary_key", "unique", "foreign_key"):
        clause.columns = _names(tokens, paren + 1, close)
    if clause.kind == "foreign_key":
        ref = next((j for j in range(close, b) if tokens[j].keyword == "REFERENCES"), b)
        clause.reference = _reference(tokens, ref, b)
    return clause


def _column_list(tokens: list[Token]) -> tuple[int, int] | None:
    """The (open, close) parenthesis of CREATE TABLE's column list, or None (e.g. for AS SELECT)."""
    for i, token in enumerate(tokens):
        if token.keyword == "AS":
            return None
        if token.text == "(":
            return i, matching_paren(tokens, i)
    return None


def _is_table_constraint(tokens: list[Token], a: int) -> bool:
    return tokens[a].keyword in _TABLE_CONSTRAINT_START


def parse_create_table(sql: str) -> TableDefinition:
    """Parse the CREATE TABLE statement SQLite keeps in sqlite_schema."""
    tokens = significant(sql)
    bounds = _column_list(tokens)
    if bounds is None:
        raise ValueError("not a CREATE TABLE statement with a column list")
    open_, close = bounds
    columns, constraints = [], []
    for a, b in split_top_level(tokens, open_ + 1, close):
        if _is_table_constraint(tokens, a):
            constraints.append(_table_constraint(sql, tokens, a, b))
        else:
            columns.append(_column(sql, tokens, a, b))
    tail = _text(sql, tokens, close + 1, len(tokens))
    return TableDefinition(columns, constraints, f" {tail}" if tail else "")


def parse_column(sql: str) -> ColumnDefinition:
    """Parse one column definition, as rendered for ALTER TABLE ... ADD COLUMN."""
    tokens = significant(sql)
    return _column(sql, tokens, 0, len(tokens))


# ---- translate_ddl ------------------------------------------------------------------------------

# Possessive: the whitespace and comments before the first word never backtrack (no ReDoS).
_DDL_START = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*+(?:CREATE|ALTER)\b", re.IGNORECASE | re.DOTALL)


def _column_rewrite(tokens: list[Token], a: int, b: int) -> tuple[int, int, str] | None:
    """The (start, end, new type) rewrite of the column definition tokens[a:b], if it needs one."""
    type_end = _type_end(tokens, a + 1, b)
    if type_end == a + 1 or tokens[type_end - 1].kind != "word":
        return None  # no type, or a type with parameters: never rewritten
    auto_increment = any(t.keyword == "AUTOINCREMENT" for t in tokens[type_end:b])
    words = " ".join(t.text for t in tokens[a + 1 : type_end])
    new_type = storage_type(words, auto_increment=auto_increment)
    if new_type is None:
        return None
    return tokens[a + 1].start, tokens[type_end - 1].end, new_type


def _rewrites(tokens: list[Token]) -> list[tuple[int, int, str]]:
    words = [t.keyword for t in tokens[:6]]
    if words[:1] == ["CREATE"]:
        table_at = 2 if words[1:2] in (["TEMP"], ["TEMPORARY"]) else 1
        if words[table_at : table_at + 1] != ["TABLE"]:
            return []
        bounds = _column_list(tokens)
        if bounds is None:
            return []
        items = split_top_level(tokens, bounds[0] + 1, bounds[1])
        found = (_column_rewrite(tokens, a, b) for a, b in items if not _is_table_constraint(tokens, a))
        return [r for r in found if r is not None]
    if words[:2] == ["ALTER", "TABLE"] and "ADD" in words:
        a = words.index("ADD") + 1
        a += a < len(tokens) and tokens[a].keyword == "COLUMN"
        rewrite = _column_rewrite(tokens, a, len(tokens)) if a < len(tokens) else None
        return [rewrite] if rewrite else []
    return []


def translate_ddl(sql: str) -> str:
    """Apply the PhantomDB type dialect to a CREATE TABLE or ALTER TABLE ... ADD COLUMN statement.

    Runs on every statement sent to ``POST /query``: anything that does not
    start with CREATE or ALTER is returned unchanged after one anchored regex
    match. Only the type name of a column definition is ever rewritten, never
    text inside string literals, quoted identifiers, comments or expressions.
    """
    if _DDL_START.match(sql) is None:
        return sql
    tokens = significant(sql)
    end = next((i for i, t in enumerate(tokens) if t.text == ";"), len(tokens))
    pieces, done = [], 0
    for start, stop, new_type in _rewrites(tokens[:end]):
        pieces += [sql[done:start], new_type]
        done = stop
    return "".join([*pieces, sql[done:]]) if pieces else sql
