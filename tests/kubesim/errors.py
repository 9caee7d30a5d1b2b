"""API errors as Kubernetes ``Status`` objects: helm and kubectl parse reason and code."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error reply; ``status()`` is the ``metav1.Status`` body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(group: str, plural: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def _resource(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{_resource(group, plural)} "{name}" not found', _details(group, plural, name)
    )


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_resource(group, plural)} "{name}" already exists',
        _details(group, plural, name),
    )


def conflict(group: str, plural: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_resource(group, plural)} "{name}": {why}',
        _details(group, plural, name),
    )


def invalid(kind: str, group: str, name: str, message: str, field: str = "") -> ApiError:
    # the message names the qualified kind (StatefulSet.apps), the details the kind alone
    details: dict[str, Any] = {"name": name, "kind": kind.split(".", 1)[0]}
    if group:
        details["group"] = group
    if field:
        # as the API server: the cause's message does not repeat the field, its reason says the error's type
        cause = message.removeprefix(f"{field}: ")
        reason = next((r for prefix, r in _CAUSE_REASONS if cause.startswith(prefix)), "FieldValueInvalid")
        details["causes"] = [{"reason": reason, "message": cause, "field": field}]
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {message}', details)


_CAUSE_REASONS = (("Forbidden:", "FieldValueForbidden"), ("Required value", "FieldValueRequired"),
                  ("Unsupported value:", "FieldValueNotSupported"))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf; got "{content_type}"')


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
