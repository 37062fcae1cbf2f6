"""The OpenAPI schema generates cleanly and the Swagger UI page holds under the site's CSP."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

OUR_PATHS = {
    "/api/courses/",
    "/api/courses/{id}/",
    "/api/exams/",
    "/api/exams/{id}/",
    "/api/exams/{id}/archive/",
    "/api/exams/{id}/unarchive/",
    "/api/exams/{id}/duplicate/",
    "/api/exams/{id}/export/",
    "/api/exams/import/",
    "/api/sections/",
    "/api/sections/{id}/",
    "/api/questions/",
    "/api/questions/{id}/",
}


class PageAssets(HTMLParser):
    """The page's scripts (with any inline code), stylesheets, and inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str | None, str]] = []
        self.links: list[str] = []
        self.inline_styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes or tag == "style":
            self.inline_styles += 1
        if tag == "script":
            self.scripts.append((attributes.get("src"), ""))
            self._in_script = True
        if tag == "link" and attributes.get("href"):
            self.links.append(str(attributes["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            src, code = self.scripts[-1]
            self.scripts[-1] = (src, code + data)


def test_schema_is_openapi_3_with_our_paths() -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= OUR_PATHS
    assert set(schema["paths"]["/api/exams/{id}/"]) == {"get", "put", "patch"}  # no delete: exams are archived
    assert "text/markdown" in schema["paths"]["/api/exams/{id}/export/"]["get"]["responses"]["200"]["content"]
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}

    as_json = Client().get("/api/schema/?format=json")
    assert as_json.status_code == 200
    assert json.loads(as_json.content)["paths"].keys() == schema["paths"].keys()


def test_schema_generates_without_warnings(tmp_path: Path) -> None:
    # --fail-on-warn makes any warning or error from drf-spectacular a failed command.
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/questions/{id}/" in yaml.safe_load(target.read_text())["paths"]


def test_swagger_ui_loads_every_script_from_the_site() -> None:
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    page = PageAssets()
    page.feed(response.content.decode())
    assert len(page.scripts) == 3
    assert all(src and src.startswith("/") and not code.strip() for src, code in page.scripts), page.scripts
    assert page.inline_styles == 0
    for url in [src for src, _ in page.scripts if src] + page.links:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"{url} is not among the static files"
        else:
            script = client.get(url)
            assert script.status_code == 200
            assert script["Content-Type"].startswith("application/javascript")
            assert b"SwaggerUIBundle(" in script.content
