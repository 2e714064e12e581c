"""Every route whose path names a user (`<user_id>`) declares who that user may be: the caller alone
(`caller_only`, 403 with the route's own message otherwise) or anyone (`any_user`). Walking the
root URLconf means a new route that forgets the declaration fails here."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from vlvt.http.api import USER_PARAM, user_param_rule


def views_by_route(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, str, Callable[..., Any]]]:
    """(path template, method, view) of every view under the URLconf, includes followed."""
    for pattern in patterns:
        template = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from views_by_route(pattern.url_patterns, template)
            continue
        assert isinstance(pattern, URLPattern)
        callback = pattern.callback
        table = getattr(callback, "views", None) or {
            method: callback for method in getattr(callback, "allowed_methods", {"*"})
        }
        for method, view in table.items():
            if method not in ("HEAD", "OPTIONS"):
                yield template, method, view


def takes_user(view: Callable[..., Any]) -> bool:
    """The view (under its decorators and any path-key adapter) receives the user path parameter."""
    return USER_PARAM in inspect.signature(view).parameters


def test_every_route_with_a_user_in_its_path_declares_who_it_may_be():
    routes = list(views_by_route(get_resolver("vlvt.urls").url_patterns))
    with_user = {
        (template, method): user_param_rule(view) for template, method, view in routes if takes_user(view)
    }
    assert [route for route, rule in with_user.items() if rule is None] == []
    assert with_user == {
        ("profile/<str:user_id>/location", "PUT"): "caller",
        ("profile/<str:user_id>", "GET"): "any",
        ("profile/<str:user_id>", "PUT"): "caller",
        ("profile/<str:user_id>", "DELETE"): "caller",
        ("matches/<str:user_id>/unread-counts", "GET"): "caller",
        ("matches/<str:key>", "GET"): "caller",
        ("blocks/<str:user_id>", "GET"): "caller",
        ("blocks/<str:user_id>/<str:blocked_user_id>", "DELETE"): "caller",
    }


def test_no_view_declares_a_rule_for_a_user_it_does_not_take():
    routes = views_by_route(get_resolver("vlvt.urls").url_patterns)
    declared_without_user = [
        (template, method)
        for template, method, view in routes
        if user_param_rule(view) and not takes_user(view)
    ]
    assert declared_without_user == []
