"""Finds every page URL and every OpenAPI operation, with sample values for their parameters."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Pages that only accept POST, or that are not ours to walk.
SKIP_PREFIXES = ("api/v1/", "static/", "i18n/", "admin/")
PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    template: str
    name: str
    params: tuple[str, ...]


def page_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                template = prefix + str(p.pattern)
                if template.startswith(SKIP_PREFIXES) or template.startswith("^"):
                    continue
                params = tuple(m.group("name") for m in PARAM.finditer(template))
                routes.append(Route(template, f"{namespace}{p.name or ''}", params))

    walk(get_resolver().url_patterns, "", "")
    return routes


def fill(template: str, values: dict[str, object]) -> str:
    return "/" + PARAM.sub(lambda m: str(values[m.group("name")]), template)


def openapi_fill(path: str, values: dict[str, object]) -> str:
    return re.sub(r"{([^}]+)}", lambda m: str(values[m.group(1)]), path)
