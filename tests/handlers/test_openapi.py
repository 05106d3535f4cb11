"""The OpenAPI document is generated from the routes' declarations (handlers.openapi.api_doc)."""

import re

from flask import Flask, jsonify
from openapi_spec_validator import validate

from handlers.openapi import api_doc, document
from handlers.schemas.accounts import Me
from tests.builders import make_user

_METHODS = ("get", "post", "put", "patch", "delete")


def _missing(app, doc) -> list[tuple[str, str]]:
    """Every /api/v1/ rule and method of the app that has no operation in `doc`."""
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        shape = re.escape(rule.rule[len("/api/v1"):])
        shape = re.sub(r"<any\\\(([^>]*)\\\):\w+>", lambda m: "(" + m[1].replace(r",\ ", "|") + ")", shape)
        shape = re.sub(r"<[^>]*>", r"\\{[^/]+\\}", shape)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            choices = re.findall(r"<any\(([^)]*)\)", rule.rule)
            wanted = 1 if not choices else len(choices[0].split(","))
            found = [p for p, ops in doc["paths"].items() if re.fullmatch(shape, p) and method.lower() in ops]
            if len(found) != wanted:
                missing.append((rule.rule, method))
    return missing


def test_every_api_route_and_method_is_in_the_document(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert _missing(app, doc) == []
    operations = sum(m in ops for ops in doc["paths"].values() for m in _METHODS)
    assert operations >= 36 and "/calls/stream" in doc["paths"] and "/kb/changes/{id}/approve" in doc["paths"]


def test_a_route_nobody_declared_is_missing_and_declaring_it_adds_it():
    app = Flask(__name__)
    app.add_url_rule("/api/v1/probe/<int:probe_id>", "probe", lambda probe_id: jsonify({}), methods=["POST"])
    app.add_url_rule("/api/v1/probes/<any(open, shut):how>", "probes", lambda how: jsonify({}), methods=["POST"])
    assert sorted(_missing(app, document(app))) == [("/api/v1/probe/<int:probe_id>", "POST"),
                                                    ("/api/v1/probes/<any(open, shut):how>", "POST")]

    app.view_functions["probe"] = api_doc("探针", tags=("test",), responses={200: Me})(lambda probe_id: jsonify({}))
    doc = document(app)
    assert _missing(app, doc) == [("/api/v1/probes/<any(open, shut):how>", "POST")]
    probe = doc["paths"]["/probe/{id}"]["post"]
    assert probe["parameters"][0] == {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    assert any(p["name"] == "Idempotency-Key" for p in probe["parameters"])

    app.view_functions["probes"] = api_doc("探针们", tags=("test",), responses={200: Me})(lambda how: jsonify({}))
    doc = document(app)
    assert _missing(app, doc) == [] and {"/probes/open", "/probes/shut"} <= set(doc["paths"])


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_document_is_valid_openapi(client):
    doc = client.get("/api/v1/openapi.json").json
    validate(doc)
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"] and doc["servers"]
    schemas = doc["components"]["schemas"]
    refs = set(_refs(doc))
    assert refs and all(r.startswith("#/components/schemas/") and r.rsplit("/", 1)[1] in schemas for r in refs)
    assert "$defs" not in str(doc)
    schemes = doc["components"]["securitySchemes"]
    assert all(name in schemes for requirement in doc["security"] for name in requirement)
    for path, operations in doc["paths"].items():
        named = set(re.findall(r"\{(\w+)\}", path))
        for method, op in operations.items():
            assert method in _METHODS, (path, method)
            assert op["summary"] and op["responses"], (path, method)
            assert all(re.fullmatch(r"[1-5]\d\d", status) for status in op["responses"]), (path, method)
            params = op.get("parameters", [])
            assert {p["name"] for p in params if p["in"] == "path"} == named, (path, method)
            assert all(p["in"] != "path" or p["required"] for p in params)
            if method != "get":
                assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params), path


def test_the_document_keeps_its_chinese_notes(client):
    doc = client.get("/api/v1/openapi.json").json
    announce = doc["paths"]["/calls"]["post"]
    assert "话务平台账号" in announce["description"] and "429" in announce["responses"]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []


def test_a_body_failing_its_model_is_a_400_naming_the_field_in_chinese(client, db, bearer):
    headers = bearer(make_user("operator"))
    wrong_type = client.post("/api/v1/notifications", json={"id": "七"}, headers=headers)
    assert wrong_type.status_code == 400
    assert wrong_type.json["error"]["field"] == "id" and wrong_type.json["error"]["message"] == "id应为整数"
    unknown = client.post("/api/v1/notifications", json={"id": 1, "all": True, "colour": "red"}, headers=headers)
    assert unknown.status_code == 400 and unknown.json["error"]["code"] == "unknown_fields"
    assert unknown.json["error"]["message"] == "未知字段：all、colour（可用字段：id）"
    nothing = client.post("/api/v1/notifications", headers=headers)
    assert nothing.status_code == 200 and nothing.json == {"marked_read": 0}


def test_the_body_is_checked_after_the_role(client, db, bearer):
    headers = bearer(make_user("caseworker"))
    refused = client.post("/api/v1/calls/record", json={"outcome": 5}, headers=headers)
    assert refused.status_code == 403
    operator = bearer(make_user("operator"))
    bad = client.post("/api/v1/calls/record", json={"outcome": 5, "caller_number": "13900000000"}, headers=operator)
    assert bad.status_code == 400 and bad.json["error"]["field"] == "outcome"
    assert bad.json["error"]["message"] == "outcome应为字符串"
