"""Declaring admin API operations once: the route, its checks and its document.

``@operation`` registers a view under ``/api/admin/v1`` and records what it
takes and answers; ``document()`` turns those records into the OpenAPI
document (apispec, from the same marshmallow schemas that validate the
bodies), served at ``/api/admin/v1/openapi.json``. A view receives the
``Viewer`` and the loaded body or query, and returns data for its response
schema; the dump through that schema is what is sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, jsonify, request
from marshmallow import Schema, ValidationError

from plugin.admin import bp
from plugin.admin.access import api_viewer, require_owner
from plugin.admin.schemas import INT_MAX, ErrorSchema
from plugin.errors import ApiError

PREFIX = "/api/admin/v1"
API_VERSION = "1.0.0"
ERROR_TEXTS = {
    400: "The body is not JSON.",
    401: "No valid session token or team session.",
    403: "Not allowed: a wrong CSRF token, or an agent changing settings.",
    404: "No such thing in this shop.",
    409: "Not possible now: the conversation's channel is closed.",
    413: "The body is over the app's 2 MB limit.",
    422: "A value was refused; `field` names it.",
    429: "Too many attempts.",
    502: "The chat platform refused or did not answer.",
}
_CONVERTER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


@dataclass(frozen=True)
class Operation:
    rule: str
    method: str
    name: str
    summary: str
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    errors: tuple[int, ...]
    produces: str
    public: bool


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    rule: str,
    *,
    summary: str,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    produces: str = "application/json",
    public: bool = False,
    agents: bool = False,
) -> Callable:
    """Register an API view; changing methods are for owners only, unless
    ``agents`` (an agent's daily work, such as answering a chat)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        declared = tuple(sorted({*errors, *(() if public else (401, 403))}))
        if body is not None:
            declared = tuple(sorted({*declared, 400, 413, 422}))
        if query is not None:
            declared = tuple(sorted({*declared, 422}))
        if "<" in rule:
            declared = tuple(sorted({*declared, 404}))
        record = Operation(
            rule,
            method,
            view.__name__,
            summary,
            body,
            query,
            response,
            status,
            declared,
            produces,
            public,
        )
        OPERATIONS.append(record)

        @functools.wraps(view)
        def handle(**path: Any) -> Response:
            viewer = None if public else api_viewer()
            if any(isinstance(v, int) and v > INT_MAX for v in path.values()):
                raise ApiError(404, "not_found", "No such id in this shop.")
            if viewer is not None and method != "GET" and not agents:
                require_owner(viewer)
            loaded = {}
            if body is not None:
                loaded["body"] = _load(body, _json_body())
            if query is not None:
                loaded["query"] = _load(query, request.args.to_dict())
            result = view(viewer, **loaded, **path)
            return _respond(record, result)

        bp.add_url_rule(PREFIX + rule, view.__name__, handle, methods=[method])
        return handle

    return decorate


def document() -> dict[str, Any]:
    """The OpenAPI 3 document of every registered operation."""
    spec = APISpec(
        title="Revisit admin API",
        version=API_VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "The merchant panel's API. Inside the store admin"
            " send the session token as a Bearer token; outside it, the team"
            " session cookie and, on changes, its X-CSRF-Token."
        },
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.security_scheme(
        "sessionToken", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.security_scheme(
        "teamSession",
        {"type": "apiKey", "in": "cookie", "name": "__Host-revisit_session"},
    )
    spec.components.security_scheme(
        "csrfToken", {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}
    )
    paths: dict[str, dict[str, Any]] = {}
    for record in OPERATIONS:
        path, parameters = _openapi_path(record.rule)
        paths.setdefault(path, {})[record.method.lower()] = _operation_doc(
            record, parameters
        )
    for path, operations in paths.items():
        spec.path(path=PREFIX + path, operations=operations)
    return spec.to_dict()


def _operation_doc(record: Operation, parameters: list[dict]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": record.name,
        "summary": record.summary,
        "responses": {str(record.status): _success_doc(record)},
    }
    if record.query is not None:
        parameters = [*parameters, {"in": "query", "schema": record.query}]
    if parameters:
        doc["parameters"] = parameters
    if record.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": record.body}},
        }
    for status in record.errors:
        doc["responses"][str(status)] = {
            "description": ERROR_TEXTS[status],
            "content": {"application/json": {"schema": "Error"}},
        }
    if record.public:
        doc["security"] = []
    else:
        doc["security"] = [{"sessionToken": []}, {"teamSession": [], "csrfToken": []}]
    return doc


def _success_doc(record: Operation) -> dict[str, Any]:
    if record.status == 204:
        return {"description": "Done."}
    if record.produces != "application/json":
        return {
            "description": "The export.",
            "content": {record.produces: {"schema": {"type": "string"}}},
        }
    schema: Any = record.response or {"type": "object"}
    return {"description": "OK.", "content": {"application/json": {"schema": schema}}}


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/messages/<int:id>`` as ``/messages/{id}``, with its parameters."""
    parameters = []

    def replace(match: re.Match[str]) -> str:
        converter, arguments, name = match.groups()
        schema: dict[str, Any] = {"type": "string"}
        if converter == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": INT_MAX}
        elif converter == "any":
            schema = {
                "type": "string",
                "enum": [item.strip() for item in arguments.split(",")],
            }
        parameters.append(
            {"in": "path", "name": name, "required": True, "schema": schema}
        )
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule), parameters


def _json_body() -> Any:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        # Nested past Python's stack: "silent" covers only ValueError.
        data = None
    if data is None:
        raise ApiError(400, "invalid_json", "The request body must be JSON.")
    return data


def _load(schema: type[Schema], data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ApiError(422, "invalid_request", "The body must be a JSON object.")
    try:
        return schema().load(data)
    except ValidationError as error:
        field, message = _first_problem(error.messages)
        raise ApiError(
            422, "invalid_request", f"{field}: {message}", field=field
        ) from None


def _first_problem(messages: Any, path: str = "") -> tuple[str, str]:
    """The first refused field as ``steps[0].delay`` and marshmallow's words."""
    if isinstance(messages, Mapping):
        key, value = next(iter(messages.items()))
        step = f"[{key}]" if isinstance(key, int) else (f".{key}" if path else key)
        return _first_problem(value, path + step)
    if isinstance(messages, list) and messages and not isinstance(messages[0], str):
        return _first_problem(messages[0], path)
    text = messages[0] if isinstance(messages, list) and messages else str(messages)
    return path or "body", text


def _respond(record: Operation, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if record.status == 204:
        return Response(status=204)
    data = record.response().dump(result) if record.response is not None else result
    response = jsonify(data)
    response.status_code = record.status
    response.headers["Cache-Control"] = "no-store"
    return response
