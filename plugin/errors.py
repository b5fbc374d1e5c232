"""One error shape for every JSON answer: ``{"detail": ..., "code": ...}``.

HTML pages (install screens, the admin) get a short page instead of a stack
trace. Any unexpected error rolls back the session so nothing half-written
is committed later by the same request. A database or Redis that cannot be
reached answers 503 with ``Retry-After``: the caller (a browser, the store
platform's webhook retries) should simply try again.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from engine.db import db

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """An error answered to the caller with a status, a code and a sentence.

    ``field`` is the path of the input at fault (``steps[1].delay``) when
    there is one; JSON answers carry it beside ``detail``, so a form can
    show the sentence at that field.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers or {}


def error_response(
    status: int, code: str, detail: str, field: str | None = None
) -> Response:
    if _wants_json():
        body = {"detail": detail, "code": code}
        if field is not None:
            body["field"] = field
        response = jsonify(body)
    else:
        response = Response(
            render_template("error.html", status=status, detail=detail, code=code),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        response = error_response(error.status, error.code, error.detail, error.field)
        response.headers.update(error.headers)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or "")

    @app.errorhandler(OperationalError)
    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _unavailable(error: Exception) -> Response:
        db.session.rollback()
        logger.warning(
            "http.backend_unavailable",
            extra={"path": request.path, "error": type(error).__name__},
        )
        response = error_response(
            503, "unavailable", "The service is briefly unavailable; try again."
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        db.session.rollback()
        logger.exception("http.unexpected_error", extra={"path": request.path})
        return error_response(
            500, "internal_error", "Something went wrong on our side; try again."
        )


def _wants_json() -> bool:
    # The app proxy answers the widget's fetch in JSON, whatever it accepts.
    if request.path.startswith(("/webhooks/", "/api/", "/proxy/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"
