"""How a route is declared: one `Operation` on its view, `endpoint(..., spec=Operation(...))`.

The declaration says what only the route knows: its summary, the body it reads (a `Body` of
fields, each validating and describing itself, or a schema for a body read elsewhere), its
parameters, its success answer and its own error statuses. Everything the route shares with its
app (tag, the statuses every route of the app can answer) comes from `paths()`, which walks the
app's urlpatterns and builds the OpenAPI `paths` from the declarations it finds; the method and
the Bearer requirement come from `endpoint()` itself.

The schema helpers below are the only ones: every app builds its schemas with them, and `FAILURE`
is the one error body schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vlvt.http.api import ApiError, ValidationFailed

REF_PREFIX = "#/components/schemas/"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

STR: dict[str, Any] = {"type": "string"}
STR_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
INT_OR_NULL: dict[str, Any] = {"type": ["integer", "null"]}
TS: dict[str, Any] = {"type": "string", "format": "date-time"}
TS_OR_NULL: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
STR_LIST: dict[str, Any] = {"type": "array", "items": STR}
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF_PREFIX + name}


def obj(required: Iterable[str] = (), **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    names = list(required)
    if names:
        schema["required"] = names
    return schema


def success(*required: str, **properties: Any) -> dict[str, Any]:
    """`{success: true, ...}`; `required` names the properties always present besides `success`."""
    return obj(["success", *required], success={"const": True}, **properties)


def array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


def json_response(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def path_param(name: str, description: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "path", "required": True, "schema": STR}
    return {**param, "description": description} if description else param


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def header(
    name: str, schema: dict[str, Any] = STR, *, required: bool = False, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "schema": schema, **extra}


# The one error body: `{success:false, error}` with the extras some routes add, or the field list
# of a validation failure.
FAILURE: dict[str, Any] = obj(
    ["success"],
    success={"const": False},
    error=STR,
    code={
        "type": "string",
        "description": "a machine-readable reason where one exists: PROFILE_INCOMPLETE, AUTH_REQUIRED, "
        "MESSAGE_LIMIT_REACHED, the After Hours gate's PREMIUM_REQUIRED, VERIFICATION_REQUIRED, "
        "CONSENT_REQUIRED, AUTH_ERROR, and PROFILE_REQUIRED, SESSION_ALREADY_ACTIVE, NO_ACTIVE_SESSION",
    },
    missingFields=STR_LIST,
    message=STR,
    upgrade={"type": "boolean"},
    requiresVerification={"type": "boolean"},
    requiresConsent={"type": "boolean"},
    errors=array(obj(["field", "message"], field=STR, message=STR)),
)


@dataclass(frozen=True)
class Operation:
    """One route's declaration (see the module docstring).

    `ok` is the success body's schema (JSON) at `status`; `errors` the statuses the route itself
    answers with the Failure body; `query` the query string's fields (a `Body` read from
    `request.GET`); `body` the request body (a `Body` or a schema) in
    `content_type`; `responses` replaces generated answers whose description says more (and with
    `conventional=False`, the answers are exactly `ok` and these).
    """

    summary: str
    ok: dict[str, Any] | None = None
    errors: tuple[int, ...] = ()
    status: int = 200
    params: tuple[dict[str, Any], ...] = ()
    query: Body | None = None
    body: Body | dict[str, Any] | None = None
    body_required: bool = True
    content_type: str = "application/json"
    responses: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    conventional: bool = True

    def describe(self, *, auth: bool, tag: str, usual: Iterable[int], path: Iterable[str]) -> dict[str, Any]:
        op: dict[str, Any] = {
            "summary": self.summary,
            "tags": [tag],
            "responses": self._responses(auth, usual),
        }
        if auth:
            op["security"] = BEARER
        declared = {p["name"] for p in self.params if p["in"] == "path"}
        parameters = [*(path_param(n) for n in path if n not in declared), *self.params, *self._query()]
        if parameters:
            op["parameters"] = parameters
        if self.body is not None:
            schema = self.body if isinstance(self.body, dict) else self.body.schema()
            op["requestBody"] = {
                "required": self.body_required,
                "content": {self.content_type: {"schema": schema}},
            }
        return op

    def _query(self) -> list[dict[str, Any]]:
        fields = self.query.fields if self.query is not None else ()
        return [query(f.name, f.schema, f.description) for f in fields]

    def _responses(self, auth: bool, usual: Iterable[int]) -> dict[str, Any]:
        responses: dict[str, Any] = {}
        if self.ok is not None:
            responses[str(self.status)] = json_response(self.ok)
        codes = set(self.errors)
        if self.conventional:
            codes |= set(usual) | ({401} if auth else set())
        responses |= {str(code): json_response(ref("Failure"), "Error") for code in sorted(codes)}
        return responses | dict(self.responses)


# --- the paths of an app, from its urlpatterns ---------------------------------------------------

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_PLACEHOLDER = re.compile(r"{(\w+)}")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _declared(callback: Callable[..., Any]) -> dict[str, tuple[Operation, bool]]:
    """Method -> (declaration, needs a token) of a urlpattern's declared views (`route()` keeps its
    table of views; `endpoint()` is one view)."""
    table = getattr(callback, "views", None)
    if table is None:
        table = {method: callback for method in getattr(callback, "allowed_methods", ())}
    return {
        method.lower(): (view.spec, view.auth)
        for method, view in table.items()
        if method not in _IGNORED_METHODS and getattr(view, "spec", None) is not None
    }


def _template(pattern: Any, prefix: str, renames: Mapping[str, str]) -> str:
    """`matches/<str:user_id>` as `/matches/{userId}` (or as `renames` names the parameter)."""

    def placeholder(match: re.Match[str]) -> str:
        return "{" + renames.get(match.group(1), camel(match.group(1))) + "}"

    return prefix + "/" + _CONVERTER.sub(placeholder, str(pattern.pattern))


def paths(
    urlpatterns: Iterable[Any],
    *,
    tag: str,
    usual: Iterable[int],
    prefix: str = "",
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The OpenAPI `paths` of every declared view in `urlpatterns`. Views without a declaration
    (catch-alls) are left out."""
    found: dict[str, Any] = {}
    for pattern in urlpatterns:
        declared = _declared(pattern.callback)
        if declared:
            template = _template(pattern, prefix, names or {})
            in_path = _PLACEHOLDER.findall(template)
            found[template] = {
                method: spec.describe(auth=auth, tag=tag, usual=usual, path=in_path)
                for method, (spec, auth) in declared.items()
            }
    return found


def app_document(title: str, paths_: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A complete OpenAPI document for one app's routes alone."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths_,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


# --- request bodies ------------------------------------------------------------------------------

Errors = list[tuple[str, str]]
# How a field reads its value from the body: appending `(field, message)` failures, or raising an
# `ApiError` for a route that answers a single error.
Read = Callable[[dict[str, Any], Errors], Any]


@dataclass(frozen=True)
class Field:
    """One body (or query string) field: its name, its schema, how it is read."""

    name: str
    schema: dict[str, Any]
    read: Read
    required: bool = False
    description: str = ""  # for a query parameter


# A check over several fields: (the body, the fields' values, the failures so far).
Rule = Callable[[dict[str, Any], dict[str, Any], Errors], None]


class Prepare(Protocol):
    """A step before the fields (e.g. folding other spellings of their names into them): the body
    the fields read, and the properties it adds to the description. A failure stops the read."""

    def apply(self, body: dict[str, Any], errors: Errors) -> dict[str, Any]: ...

    def properties(self, fields: dict[str, dict[str, Any]]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Body:
    """A JSON object body: its fields in the order they are checked, then rules over several
    fields. `parse` answers the values by field name, or raises `ValidationFailed` with every
    failure (400 `{success:false, errors:[{field, message}]}`)."""

    fields: tuple[Field, ...]
    rules: tuple[Rule, ...] = ()
    description: str = ""
    prepare: Prepare | None = None

    def properties(self) -> dict[str, dict[str, Any]]:
        return {f.name: f.schema for f in self.fields}

    def schema(self) -> dict[str, Any]:
        properties = self.properties()
        if self.prepare is not None:
            properties |= self.prepare.properties(properties)
        schema = obj([f.name for f in self.fields if f.required], **properties)
        return {**schema, "description": self.description} if self.description else schema

    def read(self, body: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
        errors: Errors = []
        if self.prepare is not None:
            body = self.prepare.apply(body, errors)
            if errors:
                return {}, errors
        values = {f.name: f.read(body, errors) for f in self.fields}
        for rule in self.rules:
            rule(body, values, errors)
        return values, errors

    def parse(self, body: dict[str, Any]) -> dict[str, Any]:
        values, errors = self.read(body)
        if errors:
            raise ValidationFailed(errors)
        return values


def differ(first: str, second: str, message: str) -> Rule:
    """`second` must not equal a (non-empty) `first`; the failure is reported on `second`."""

    def rule(body: dict[str, Any], values: dict[str, Any], errors: Errors) -> None:
        if values[first] and values[first] == values[second]:
            errors.append((second, message))

    return rule


# --- fields answering one error (400 `{success:false, error}`), as most original routes did -----


def optional_string(
    name: str, max_length: int | None = None, label: str = "", *, required: bool = False
) -> Field:
    """A string of at most `max_length` characters, None when absent or empty ("<label> must be ...")."""
    label = label or name

    def read(body: dict[str, Any], errors: Errors) -> str | None:
        value = body.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ApiError(400, f"{label} must be a string")
        if max_length is not None and len(value) > max_length:
            raise ApiError(400, f"{label} must be at most {max_length} characters")
        return value

    return Field(
        name, STR if max_length is None else {"type": "string", "maxLength": max_length}, read, required
    )


def one_of(name: str, allowed: tuple[str, ...], missing: str, invalid: str = "") -> Field:
    """A required value among `allowed` (`missing` when absent or empty, else `invalid`, by
    default "Invalid <name>. Must be one of: ...")."""
    invalid = invalid or f"Invalid {name}. Must be one of: {', '.join(allowed)}"

    def read(body: dict[str, Any], errors: Errors) -> str:
        value = body.get(name)
        if value is None or value == "":
            raise ApiError(400, missing)
        if value not in allowed:
            raise ApiError(400, invalid)
        return str(value)

    return Field(name, {"enum": list(allowed)}, read, required=True)


def present(name: str, missing: str, *, string: bool = True) -> Field:
    """Required (not empty), and a string when `string` says so; otherwise taken as sent."""

    def read(body: dict[str, Any], errors: Errors) -> Any:
        value = body.get(name)
        if not value:
            raise ApiError(400, missing)
        if string and not isinstance(value, str):
            raise ApiError(400, f"{name} must be a string")
        return value

    return Field(name, STR, read, required=True)


def sent(name: str, schema: dict[str, Any], kind: type | None = None, description: str = "") -> Field:
    """Taken as sent, or None when not of the `kind` expected."""

    def read(body: dict[str, Any], errors: Errors) -> Any:
        value = body.get(name)
        return value if kind is None or isinstance(value, kind) else None

    return Field(name, schema, read, description=description)


@dataclass(frozen=True)
class AllSent:
    """Before the fields: every one of `names` sent (not empty), else the one `message`."""

    names: tuple[str, ...]
    message: str

    def apply(self, body: dict[str, Any], errors: Errors) -> dict[str, Any]:
        if not all(body.get(name) for name in self.names):
            raise ApiError(400, self.message)
        return body

    def properties(self, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {}
