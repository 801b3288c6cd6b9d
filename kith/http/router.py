"""Route table: static paths by dictionary, templated paths by compiled pattern."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from kith.http.types import Route

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Match:
    route: Route | None
    params: dict[str, str]
    allowed: tuple[str, ...]  # methods known for this path, for 405


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._templated: list[tuple[re.Pattern[str], list[str], dict[str, Route]]] = []
        by_template: dict[str, dict[str, Route]] = {}
        for route in routes:
            methods = by_template.setdefault(route.path, {})
            if route.method in methods:
                raise ValueError(f"duplicate route {route.method} {route.path}")
            methods[route.method] = route
        for template, methods in by_template.items():
            names = _PARAM.findall(template)
            if not names:
                self._static[template] = methods
                continue
            pattern = "^" + _PARAM.sub(r"([^/]*)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
            self._templated.append((re.compile(pattern), names, methods))

    def match(self, method: str, raw_path: str) -> Match | None:
        """Match on the raw (still percent-encoded) path so that an encoded "/"
        inside an ID or state key stays inside its segment."""
        methods = self._static.get(unquote(raw_path))
        params: dict[str, str] = {}
        if methods is None:
            for pattern, names, candidate in self._templated:
                found = pattern.match(raw_path)
                if found:
                    params = {n: unquote(v) for n, v in zip(names, found.groups())}
                    methods = candidate
                    break
        if methods is None:
            return None
        return Match(methods.get(method), params, tuple(sorted(methods)))
