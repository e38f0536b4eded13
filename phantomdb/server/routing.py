"""Path templates to handlers, the small route table of a bare ASGI application.

A template such as ``/databases/{db}/tables/{table}`` matches a path with the
same number of segments whose fixed segments are equal; ``{name}`` segments
become ``Request.params``. Routes are grouped by segment count, so a lookup
compares a handful of strings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phantomdb.server.messages import Request, Response

Handler = Callable[["Request"], Awaitable["Response"]]


@dataclass(frozen=True)
class Route:
    """One path template and its handler per HTTP method."""

    template: str
    handlers: Mapping[str, Handler]
    public: bool = False  # served without credentials (health, metrics)
    segments: tuple[str | None, ...] = field(init=False)  # None where a parameter goes
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        parts = self.template.strip("/").split("/")
        object.__setattr__(self, "segments", tuple(None if p.startswith("{") else p for p in parts))
        object.__setattr__(self, "names", tuple(p[1:-1] for p in parts if p.startswith("{")))

    @property
    def allowed(self) -> str:
        return ", ".join(sorted(self.handlers))


_MATCHED_LIMIT = 1024


class Router:
    """Finds the route of a path; paths seen before are looked up in a small cache."""

    def __init__(self, routes: Iterable[Route]):
        self.routes = list(routes)
        self._by_length: dict[int, list[Route]] = {}
        for route in self.routes:
            self._by_length.setdefault(len(route.segments), []).append(route)
        # path -> (route, parameters) of paths that matched; clients use a few paths over and over
        self._matched: dict[str, tuple[Route, dict[str, str]]] = {}

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        found = self._matched.get(path)
        if found is not None:
            return found[0], found[1].copy()
        found = self._search(path)
        if found is not None:
            if len(self._matched) >= _MATCHED_LIMIT:
                self._matched.clear()
            self._matched[path] = (found[0], found[1].copy())
        return found

    def _search(self, path: str) -> tuple[Route, dict[str, str]] | None:
        parts = path[1:].split("/")
        for route in self._by_length.get(len(parts), ()):
            values = []
            for expected, part in zip(route.segments, parts, strict=True):
                if expected is None:
                    if not part:
                        break
                    values.append(part)
                elif expected != part:
                    break
            else:
                return route, dict(zip(route.names, values, strict=True))
        return None
