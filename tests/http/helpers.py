from __future__ import annotations

import json
import socket
from typing import Any

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
        "frame-ancestors 'self';img-src 'self' data: https:;object-src 'none';script-src 'self';"
        "script-src-attr 'none';style-src 'self' 'unsafe-inline';upgrade-insecure-requests;"
        "connect-src 'self' wss: https:"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Origin-Agent-Cluster": "?1",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-DNS-Prefetch-Control": "off",
    "X-Download-Options": "noopen",
    "X-Frame-Options": "DENY",
    "X-Permitted-Cross-Domain-Policies": "none",
    "X-XSS-Protection": "0",
}
JSON = "application/json; charset=utf-8"


def body(response: Any) -> Any:
    assert response["Content-Type"] == JSON, response["Content-Type"]
    return json.loads(response.content)


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def headers_subset(response: Any, names: Any) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in names}
