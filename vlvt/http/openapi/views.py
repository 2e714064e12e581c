"""`/openapi.json` and `/docs`: the description as JSON and as a page rendered on the server.

The page needs no script (the Content-Security-Policy allows none inline, and no CDN is reachable):
it is built once from the same document, so it cannot drift from `/openapi.json`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from vlvt.http.api import endpoint
from vlvt.http.openapi import REF_PREFIX, document, document_json

METHODS = ("get", "post", "put", "patch", "delete")

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 1.5em 4em;color:#1d2330}
h1{margin-top:1.2em}h2{margin-top:2em;border-bottom:1px solid #ccd;padding-bottom:.2em}
.op{border:1px solid #d5d9e3;border-radius:6px;margin:.8em 0;padding:.2em .9em}
.op summary{cursor:pointer;padding:.4em 0}.m{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}
.get{color:#1565c0}.post{color:#2e7d32}.put{color:#e65100}.patch{color:#6a1b9a}.delete{color:#c62828}
code,pre{font:13px ui-monospace,monospace;background:#f4f5f8}pre{padding:.6em;overflow:auto;border-radius:4px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e3e6ee;padding:.25em .6em;text-align:left;vertical-align:top}
.lock{color:#8a6d00;font-size:13px}.intro{white-space:pre-wrap}
"""


@endpoint("GET", auth=False)
def openapi_json(request: HttpRequest) -> HttpResponse:
    return HttpResponse(document_json(), content_type="application/json; charset=utf-8")


@endpoint("GET", auth=False)
def docs_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(render_page(), content_type="text/html; charset=utf-8")


@lru_cache(maxsize=1)
def render_page() -> str:
    doc = document()
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in doc["paths"].items():
        for method in METHODS:
            if method in operations:
                op = operations[method]
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op))
    sections = format_html_join("", "{}", ((_section(tag, ops),) for tag, ops in by_tag.items()))
    schemas = format_html_join(
        "",
        '<details id="schema-{}"><summary><code>{}</code></summary><pre>{}</pre></details>',
        ((name, name, _pretty(schema)) for name, schema in doc["components"]["schemas"].items()),
    )
    return format_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{} {}</title><style>{}</style></head>'
        '<body><h1>{} <small>v{}</small></h1><p>The machine-readable description: <a href="/openapi.json">'
        '/openapi.json</a> (OpenAPI {}).</p><div class="intro">{}</div>{}<h2 id="schemas">Schemas</h2>{}</body></html>',
        doc["info"]["title"],
        doc["info"]["version"],
        mark_safe(_STYLE),
        doc["info"]["title"],
        doc["info"]["version"],
        doc["openapi"],
        doc["info"]["description"],
        sections,
        schemas,
    )


def _section(tag: str, operations: list[tuple[str, str, dict[str, Any]]]) -> SafeString:
    return format_html(
        '<h2 id="tag-{}">{}</h2>{}',
        tag,
        tag,
        format_html_join("", "{}", ((_operation(*op),) for op in operations)),
    )


def _operation(path: str, method: str, op: dict[str, Any]) -> SafeString:
    lock = format_html('<span class="lock"> (Bearer token)</span>') if op.get("security") else ""
    return format_html(
        '<details class="op"><summary><span class="m {}">{}</span> <code>{}</code> {}{}</summary>{}{}{}</details>',
        method,
        method,
        path,
        op.get("summary", ""),
        lock,
        _parameters(op.get("parameters") or []),
        _request_body(op.get("requestBody")),
        _responses(op.get("responses") or {}),
    )


def _parameters(parameters: list[dict[str, Any]]) -> SafeString | str:
    if not parameters:
        return ""
    rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                p["name"],
                p["in"],
                "required" if p.get("required") else "optional",
                _inline(p.get("schema", {})),
                p.get("description", ""),
            )
            for p in parameters
        ),
    )
    return format_html("<h4>Parameters</h4><table>{}</table>", rows)


def _request_body(body: dict[str, Any] | None) -> SafeString | str:
    if not body:
        return ""
    parts = format_html_join(
        "",
        "<p><code>{}</code></p><pre>{}</pre>",
        ((ctype, _pretty(media.get("schema", {}))) for ctype, media in body["content"].items()),
    )
    return format_html("<h4>Request body{}</h4>{}", "" if body.get("required") else " (optional)", parts)


def _responses(responses: dict[str, Any]) -> SafeString:
    rows = format_html_join(
        "",
        "<tr><td><b>{}</b></td><td>{}</td><td>{}</td></tr>",
        (
            (status, response.get("description", ""), _media(response.get("content") or {}))
            for status, response in sorted(responses.items())
        ),
    )
    return format_html("<h4>Responses</h4><table>{}</table>", rows)


def _media(content: dict[str, Any]) -> SafeString:
    return format_html_join(
        "<br>",
        "<code>{}</code> {}",
        ((ctype, _inline(media.get("schema", {}))) for ctype, media in content.items()),
    )


def _inline(schema: dict[str, Any]) -> SafeString:
    """A schema reference as a link to it, anything else as compact JSON."""
    ref = schema.get("$ref", "")
    if ref.startswith(REF_PREFIX):
        name = ref[len(REF_PREFIX) :]
        return format_html('<a href="#schema-{}">{}</a>', name, name)
    return format_html("<code>{}</code>", json.dumps(schema, separators=(",", ":")))


def _pretty(schema: Any) -> str:
    return json.dumps(schema, indent=2)
