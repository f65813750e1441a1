"""The OpenAPI 3.1 document for /api/v1, written by hand (the API is small).

`tests/webhooks/test_api.py` checks that every /api/v1 route and method is documented here and that
nothing documented is missing from the app, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from bot.casework.tenant_messages import READY_ANSWERS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
}
_ID = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TENANT_ID = {"name": "tenant_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _action(verb: str, summary: str) -> dict[str, Any]:
    return {"post": {
        "operationId": f"{verb}Alert", "summary": summary, "tags": ["alerts"],
        "parameters": [_ID],
        "requestBody": {"required": False, "content": {"application/json": {
            "schema": {"type": "object"}}}},
        "responses": {
            "200": _json({"type": "object", "required": ["changed", "alert"], "properties": {
                "changed": {"type": "boolean",
                            "description": "false when the alert was already in that state"},
                "alert": _ref("Alert")}}, "The alert after the action"),
            "409": {"$ref": "#/components/responses/Conflict"},
            "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
            **_ERRORS,
        }}}


def spec() -> dict[str, Any]:
    nullable_dt = {"type": ["string", "null"], "format": "date-time"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trygt Hjem caseworker API", "version": "1.0.0",
            "description": (
                "Alerts and tenants for logged-in caseworkers. Authenticate by logging in at "
                "/dashboard/login (session cookie). Access rules: a caseworker sees their own "
                "tenants and their team's alerts, a team lead the team's, an admin the "
                "organisation's. Every read of a tenant's data is written to the audit log. "
                "POST requests must use Content-Type: application/json."),
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
                                "schema": {"enum": ["open", "acknowledged", "resolved"]},
                                "description": "default: open and acknowledged"}],
                "responses": {
                    "200": _json({"type": "object", "required": ["alerts"], "properties": {
                        "alerts": {"type": "array", "items": _ref("Alert")}}}, "Alerts"),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"}}}},
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
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["body"], "properties": {
                        "body": {"type": "string", "minLength": 1},
                        "alert_id": {"type": "integer"}}}}}},
                "responses": {
                    "201": _json({"type": "object", "properties": {
                        "id": {"type": "integer"}, "at": {"type": "string",
                                                          "format": "date-time"},
                        "body": {"type": "string"}}}, "The note"),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
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
            "schemas": {
                "Error": {"type": "object", "required": ["error", "detail"], "properties": {
                    "error": {"type": "string"}, "detail": {"type": "string"}}},
                "Alert": {"type": "object", "properties": {
                    "id": {"type": "integer"},
                    "source": {"enum": ["crisis", "need_help", "call_me", "missed", "concern",
                                        "delivery_failed", "message"]},
                    "severity": {"enum": ["low", "high", "critical"]},
                    "state": {"enum": ["open", "acknowledged", "resolved"]},
                    "summary": {"type": "string"}, "trigger_count": {"type": "integer"},
                    "tenant": {"type": ["object", "null"], "properties": {
                        "id": {"type": "integer"}, "name": {"type": "string"}}},
                    "tenant_accessible": {"type": "boolean"},
                    "home": {"type": ["object", "null"]},
                    "owner": {"type": ["object", "null"]},
                    "next_action_at": nullable_dt, "created_at": nullable_dt,
                    "acknowledged_at": nullable_dt, "resolved_at": nullable_dt}},
                "SentMessage": {"type": "object", "properties": {
                    "outbox_id": {"type": ["integer", "null"]}, "body": {"type": "string"},
                    "goes_at": {"type": "string", "format": "date-time"},
                    "deferred": {"type": "boolean"}, "duplicate": {"type": "boolean"}}},
                "AlertDetail": {"allOf": [_ref("Alert"), {"type": "object", "properties": {
                    "timeline": {"type": "array", "items": {"type": "object"}},
                    "notes": {"type": "array", "items": {"type": "object"}}}}]},
                "Tenant": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"},
                    "phone": {"type": "string"}, "language": {"type": "string"},
                    "home": {"type": ["object", "null"]},
                    "caseworker": {"type": ["object", "null"]},
                    "consent": {"enum": ["pending", "given", "withdrawn"]},
                    "consent_at": nullable_dt, "opted_out_at": nullable_dt,
                    "checkins_paused_until": {"type": ["string", "null"], "format": "date"},
                    "timeline": {"type": "array", "items": {"type": "object", "properties": {
                        "at": {"type": "string", "format": "date-time"},
                        "kind": {"enum": ["message_in", "message_out", "checkin", "alert",
                                          "note"]},
                        "text": {"type": "string"}, "ref": {"type": ["integer", "null"]}}}}}},
            },
            "responses": {
                name: _json(_ref("Error"), text) for name, text in (
                    ("BadRequest", "Invalid input"),
                    ("Unauthorized", "Not logged in"),
                    ("NotFound", "No such record, or not yours to see"),
                    ("Conflict", "The action does not fit the alert's state"),
                    ("UnsupportedMediaType", "POST without Content-Type: application/json"))},
        },
    }
