"""The OpenAPI document is the API's contract: valid OpenAPI 3.1, and every answer the app
gives to valid and invalid requests has a documented status and matches its documented schema;
request bodies the schema refuses are refused by the route, and the ones it accepts are taken."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.casework.queries import NOTE_MAX
from tests.support.dashboard import login, with_passwords
from tests.support.factories import World
from webhooks.openapi import spec as build_spec

PREFIX = "/api/v1"


class Contract:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.spec = build_spec()
        self.calls: set[tuple[str, str, int]] = set()

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        return Draft202012Validator({**schema, "components": self.spec["components"]})

    def _operation(self, method: str, url: str) -> tuple[str, dict[str, Any]]:
        path = url[len(PREFIX):].split("?")[0]
        for template, ops in self.spec["paths"].items():
            pattern = "^" + re.sub(r"{\w+}", r"[^/]+", template) + "$"
            if re.match(pattern, path) and method in ops:
                return template, ops[method]
        raise AssertionError(f"{method.upper()} {path} is not documented")

    def request_body_valid(self, method: str, url: str, body: Any) -> bool:
        _, op = self._operation(method, url)
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        return self._validator(schema).is_valid(body)

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        template, op = self._operation(method, url)
        response = getattr(self.client, method)(url, **kwargs)
        status = str(response.status_code)
        assert status in op["responses"], f"{method.upper()} {url} answered an undocumented " \
                                          f"{status}: {response.get_data(as_text=True)[:200]}"
        documented = op["responses"][status]
        if "$ref" in documented:
            documented = self.spec["components"]["responses"][documented["$ref"].split("/")[-1]]
        schema = documented["content"]["application/json"]["schema"]
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in self._validator(schema).iter_errors(response.get_json())]
        assert errors == [], f"{method.upper()} {url} -> {status} differs from the document: " \
                             f"{errors[:5]}"
        self.calls.add((template, method, response.status_code))
        return response


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(build_spec())


def test_every_answer_matches_the_document(client: Any, session: Session, world: World) -> None:
    with_passwords(session, world)
    alert, _ = raise_alert(session, source="need_help", summary="Anna svarede 3",
                           tenant=world.tenant)
    session.commit()
    c = Contract(client)
    a, t = f"{PREFIX}/alerts/{alert.id}", f"{PREFIX}/tenants/{world.tenant.id}"

    c.call("get", f"{PREFIX}/openapi.json")
    assert c.call("get", f"{PREFIX}/alerts").status_code == 401
    assert c.call("post", f"{a}/acknowledge", json={}).status_code == 401
    login(client, "cw@odense.example")

    assert c.call("get", f"{PREFIX}/alerts").status_code == 200
    for state in ("open", "acknowledged", "resolved"):
        assert c.call("get", f"{PREFIX}/alerts?state={state}").status_code == 200
    assert c.call("get", f"{PREFIX}/alerts?state=bogus").status_code == 400
    assert c.call("get", a).status_code == 200
    assert c.call("get", f"{PREFIX}/alerts/999999").status_code == 404
    assert c.call("get", t).status_code == 200
    assert c.call("get", f"{PREFIX}/tenants/999999").status_code == 404

    # The actions: a JSON object is required, as documented.
    assert c.call("post", f"{a}/acknowledge").status_code == 415
    assert c.call("post", f"{a}/acknowledge", data="",
                  content_type="application/json").status_code == 400
    assert c.call("post", f"{a}/acknowledge", json=[]).status_code == 400
    assert c.call("post", f"{a}/acknowledge", json={}).status_code == 200
    assert c.call("post", f"{a}/resolve", json={"why": "done"}).status_code == 200
    assert c.call("post", f"{a}/acknowledge", json={}).status_code == 409
    assert c.call("post", f"{a}/reopen", json={}).status_code == 200
    assert c.call("post", f"{PREFIX}/alerts/999999/resolve", json={}).status_code == 404

    notes = f"{t}/notes"
    accepted: list[Any] = [{"body": "Ringede, alt vel."}, {"body": "x", "alert_id": None},
                           {"body": "Om alarmen", "alert_id": alert.id},
                           {"body": "x" * NOTE_MAX}]
    refused: list[Any] = [{}, {"body": ""}, {"body": "   \n"}, {"body": 5}, {"body": None},
                          {"body": "x" * (NOTE_MAX + 1)}, {"body": "x", "alert_id": "1"},
                          {"body": "x", "alert_id": True}, {"body": "x", "alert_id": 1.5},
                          ["body"], "body", 0]
    for body in accepted:
        assert c.request_body_valid("post", notes, body), body
        assert c.call("post", notes, json=body).status_code == 201, body
    for body in refused:
        assert not c.request_body_valid("post", notes, body), body
        assert c.call("post", notes, json=body).status_code == 400, body
    assert c.call("post", notes, data="null", content_type="application/json").status_code \
        == 400
    assert c.call("post", notes, data="body=x").status_code == 415
    assert c.call("post", f"{PREFIX}/tenants/999999/notes", json={"body": "x"}).status_code \
        == 404

    messages = f"{t}/messages"
    assert c.call("post", messages, json={"body": "Jeg ringer til dig i dag."}).status_code \
        == 202
    assert c.call("post", messages, json=[]).status_code == 400
    assert c.call("post", f"{PREFIX}/tenants/999999/messages", json={"body": "x"}).status_code \
        == 404

    # Every documented operation was exercised, with its success status.
    done = {(template, method) for template, method, status in c.calls if status < 300}
    documented = {(path, m) for path, ops in c.spec["paths"].items() for m in ops}
    assert done == documented


@pytest.mark.parametrize("name", ["Alert", "AlertDetail", "Tenant", "Note", "Error"])
def test_answer_objects_are_closed(name: str) -> None:
    """An undocumented field in an answer fails the contract test instead of slipping by."""
    schema = build_spec()["components"]["schemas"][name]
    assert schema.get("additionalProperties") is False
    assert set(schema["required"]) == set(schema["properties"])
