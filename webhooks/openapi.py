"""The OpenAPI 3.1 document for /api/v1, written by hand (the API is small).

It is a contract, not a sketch: `tests/webhooks/test_openapi_contract.py` validates it, checks
that every route and method is documented and nothing more, sends each operation valid and
invalid requests and validates every answer against the schema documented for its status.
Objects are closed (`additionalProperties: false`) so a field added to an answer without being
documented fails that test; enums come from the model's own enums.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.casework.queries import NOTE_MAX
from bot.casework.tenant_messages import READY_ANSWERS
from bot.models import AlertState, Consent
from bot.models.enums import Severity, Source

TIMELINE_KINDS = ("message_in", "message_out", "checkin", "alert", "note")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _enum(values: type[StrEnum]) -> dict[str, Any]:
    return {"type": "string", "enum": [v.value for v in values]}


def _object(properties: dict[str, Any], *, nullable: bool = False,
            optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object whose properties are all required unless named in `optional`."""
    return {"type": ["object", "null"] if nullable else "object",
            "required": [k for k in properties if k not in optional],
            "properties": properties, "additionalProperties": False}


def _response(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


_ERRORS = {"401": _response("Unauthorized"), "404": _response("NotFound")}
_ID = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TENANT_ID = {"name": "tenant_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_DT = {"type": "string", "format": "date-time"}
_NULLABLE_DT = {"type": ["string", "null"], "format": "date-time"}


def _action(verb: str, summary: str) -> dict[str, Any]:
    return {"post": {
        "operationId": f"{verb}Alert", "summary": summary, "tags": ["alerts"],
        "parameters": [_ID],
        "requestBody": {
            "required": True, "description": "A JSON object; `{}` will do (no fields yet).",
            "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "200": _json(_object({
                "changed": {"type": "boolean",
                            "description": "false when the alert was already in that state"},
                "alert": _ref("Alert")}), "The alert after the action"),
            "400": _response("BadRequest"),
            "409": _response("Conflict"),
            "415": _response("UnsupportedMediaType"),
            **_ERRORS,
        }}}


def _schemas() -> dict[str, Any]:
    alert = {
        "id": _INT, "source": _enum(Source), "severity": _enum(Severity),
        "state": _enum(AlertState), "summary": _STR, "trigger_count": _INT,
        "tenant": _object({"id": _INT, "name": _STR}, nullable=True),
        "tenant_accessible": {"type": "boolean"},
        "home": _object({"reference": _STR, "city": _STR}, nullable=True),
        "owner": _object({"id": _INT, "name": _STR}, nullable=True),
        "next_action_at": _NULLABLE_DT, "created_at": _NULLABLE_DT,
        "acknowledged_at": _NULLABLE_DT, "resolved_at": _NULLABLE_DT,
        # Set while no step and not even the intake route reached a person.
        "undelivered_since": _NULLABLE_DT,
    }
    return {
        "Error": _object({"error": _STR, "detail": _STR}),
        "SentMessage": _object({
            "outbox_id": {"type": ["integer", "null"]}, "body": _STR,
            "goes_at": {"type": "string", "format": "date-time"},
            "deferred": {"type": "boolean"}, "duplicate": {"type": "boolean"}}),
        "Alert": _object(alert),
        "AlertDetail": _object({
            **alert,
            "timeline": {"type": "array", "items": _object({
                "at": _NULLABLE_DT, "kind": _STR, "actor": {"type": ["string", "null"]},
                "detail": {"type": ["object", "null"]}})},
            "notes": {"type": "array", "items": _object({
                "id": _INT, "at": _NULLABLE_DT, "author": _STR, "body": _STR})}}),
        "Tenant": _object({
            "id": _INT, "name": _STR, "phone": _STR, "language": _STR,
            "home": _object({"reference": _STR, "address": _STR, "city": _STR},
                            nullable=True),
            "caseworker": _object({"id": _INT, "name": _STR}, nullable=True),
            "consent": _enum(Consent),
            "consent_at": _NULLABLE_DT, "opted_out_at": _NULLABLE_DT,
            "checkins_paused_until": {"type": ["string", "null"], "format": "date"},
            "timeline": {"type": "array", "items": _object({
                "at": _DT, "kind": {"type": "string", "enum": list(TIMELINE_KINDS)},
                "text": _STR, "ref": {"type": ["integer", "null"]}})}}),
        "NewNote": {"type": "object", "required": ["body"], "properties": {
            "body": {"type": "string", "minLength": 1, "maxLength": NOTE_MAX,
                     "pattern": r"\S", "description": "not only white space"},
            "alert_id": {"type": ["integer", "null"],
                         "description": "one of this tenant's alerts"}}},
        "Note": _object({"id": _INT, "at": _NULLABLE_DT, "body": _STR}),
    }


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trygt Hjem caseworker API", "version": "1.0.0",
            "description": (
                "Alerts and tenants for logged-in caseworkers. Authenticate by logging in at "
                "/dashboard/login (session cookie; logout, a password change, 60 idle minutes "
                "or 10 hours end it). Access rules: a caseworker sees their own tenants and "
                "their team's alerts, a team lead the team's, an admin the organisation's. "
                "Every read of a tenant's data is written to the audit log. POST requests must "
                "send a JSON object with Content-Type: application/json. Answers are never "
                "cached (Cache-Control: no-store)."),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"session": []}],
        "paths": {
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "tags": ["meta"],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")}}},
            "/alerts": {"get": {
                "operationId": "listAlerts", "tags": ["alerts"],
                "summary": "Alerts you can see, most severe first, then nearest deadline",
                "parameters": [{"name": "state", "in": "query", "required": False,
                                "schema": _enum(AlertState),
                                "description": "default: open and acknowledged"}],
                "responses": {
                    "200": _json(_object({"alerts": {"type": "array", "items": _ref("Alert")}}),
                                 "Alerts"),
                    "400": _response("BadRequest"),
                    "401": _response("Unauthorized")}}},
            "/alerts/{alert_id}": {"get": {
                "operationId": "getAlert", "tags": ["alerts"],
                "summary": "One alert with its timeline and notes (audited)",
                "parameters": [_ID],
                "responses": {"200": _json(_ref("AlertDetail"), "The alert"), **_ERRORS}}},
            "/alerts/{alert_id}/acknowledge": _action("acknowledge", "Acknowledge an alert"),
            "/alerts/{alert_id}/resolve": _action("resolve", "Resolve an alert"),
            "/alerts/{alert_id}/reopen": _action("reopen", "Reopen a resolved alert"),
            "/tenants/{tenant_id}": {"get": {
                "operationId": "getTenant", "tags": ["tenants"],
                "summary": "A tenant's profile and timeline (audited)",
                "parameters": [_TENANT_ID],
                "responses": {"200": _json(_ref("Tenant"), "The tenant"), **_ERRORS}}},
            "/tenants/{tenant_id}/notes": {"post": {
                "operationId": "addTenantNote", "tags": ["tenants"],
                "summary": "Add a case note (optionally about one of the tenant's alerts)",
                "parameters": [_TENANT_ID],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("NewNote")}}},
                "responses": {
                    "201": _json(_ref("Note"), "The note"),
                    "400": _response("BadRequest"),
                    "415": _response("UnsupportedMediaType"),
                    **_ERRORS}}},
            "/tenants/{tenant_id}/messages": {"post": {
                "operationId": "sendTenantMessage", "tags": ["tenants"],
                "summary": "Answer the tenant by SMS (through the outbox; audited)",
                "description": (
                    "Sends `body`, or the ready answer `ready` in the tenant's language. Refused "
                    "(409) after the tenant wrote STOP. In quiet hours the SMS waits until they "
                    "end (`deferred`), unless the tenant wrote within the last 12 hours. The "
                    "same `Idempotency-Key` sends once (200, `duplicate`). With `alert_id` the "
                    "SMS is also on that alert's timeline."),
                "parameters": [_TENANT_ID, {"name": "Idempotency-Key", "in": "header",
                                            "schema": {"type": "string", "maxLength": 80}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "body": {"type": "string", "maxLength": 480},
                        "ready": {"enum": list(READY_ANSWERS)},
                        "alert_id": {"type": "integer"}}}}}},
                "responses": {
                    "202": _json(_ref("SentMessage"), "Queued for sending"),
                    "200": _json(_ref("SentMessage"), "Already sent with this key"),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "409": {"$ref": "#/components/responses/Conflict"},
                    "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
                    **_ERRORS}}},
        },
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie",
                                            "name": "session"}},
            "schemas": _schemas(),
            "responses": {
                name: _json(_ref("Error"), text) for name, text in (
                    ("BadRequest", "Invalid input"),
                    ("Unauthorized", "Not logged in, or the session has ended"),
                    ("NotFound", "No such record, or not yours to see"),
                    ("Conflict", "The action does not fit the alert's state"),
                    ("UnsupportedMediaType", "POST without Content-Type: application/json"))},
        },
    }
