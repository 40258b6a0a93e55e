"""The gateway's routes as an OpenAPI 3.1 document, served at ``/openapi.json`` behind the admin key.

It describes what the gateway itself answers (the fuzzing tests read it to know the routes); the bodies of
the model endpoints are OpenAI's, of which it names the fields the gateway checks.
"""

from __future__ import annotations

import orjson

from distillshield.gateway.paths import PassThrough

_ERROR = {"description": "OpenAI-style error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "properties": {
        "message": {"type": "string"}, "type": {"type": "string"},
        "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}}}}
_ERRORS = {str(status): _ERROR for status in (400, 401, 403, 404, 413, 429, 502, 504)}
_MESSAGE = {"type": "object", "required": ["role"], "properties": {
    "role": {"enum": ["system", "user", "assistant", "tool", "developer", "function"]},
    "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}, {"type": "null"}]}}}
_SAMPLING = {
    "model": {"type": "string"}, "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1}, "n": {"type": "integer", "minimum": 1},
    "max_tokens": {"type": "integer", "minimum": 1}, "max_completion_tokens": {"type": "integer", "minimum": 1},
    "stream": {"type": "boolean"}, "seed": {"type": "integer"},
    "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}]},
}
_CHAT = {"type": "object", "required": ["model", "messages"], "properties": {
    **_SAMPLING, "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
    "logprobs": {"type": "boolean"}, "top_logprobs": {"type": "integer", "minimum": 0, "maximum": 20}}}
_COMPLETION = {"type": "object", "required": ["model", "prompt"], "properties": {
    **_SAMPLING, "prompt": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "logprobs": {"type": "integer", "minimum": 0, "maximum": 5}, "echo": {"type": "boolean"}}}
_ACCOUNT_CHANGE = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 256}, "disabled": {"type": "boolean"},
    "policy": {"enum": ["auto", "allow", "flag", "throttle", "harden", "block"]},
    **{name: {"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1} for name in ("rpm", "tpm", "concurrency", "tpd")}}}


def _operation(summary: str, *, body: dict | None = None, admin: bool = False, params: list | None = None) -> dict:
    operation: dict = {"summary": summary, "responses": {"200": {"description": "OK"}, **_ERRORS},
                       "security": [{"bearer": []}]}
    if admin:
        operation["tags"] = ["admin"]
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        operation["parameters"] = params
    return operation


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query_param(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def openapi_document(passthrough: PassThrough) -> bytes:
    allowed = ", ".join(f"{method} {pattern.pattern}" for method, pattern in passthrough.patterns) or "none"
    paths = {
        "/health": {"get": {"summary": "Liveness; the only route without a key", "security": [],
                            "responses": {"200": {"description": "OK"}}}},
        "/metrics": {"get": _operation("Prometheus metrics", admin=True)},
        "/openapi.json": {"get": _operation("This document", admin=True)},
        "/v1/chat/completions": {"post": _operation("Chat completion (streamed when stream is true)", body=_CHAT)},
        "/v1/completions": {"post": _operation("Text completion", body=_COMPLETION)},
        "/v1/models": {"get": _operation("The models the backend serves")},
        "/admin/accounts": {"get": _operation("List accounts", admin=True),
                            "post": _operation("Create an account", admin=True, body={
                                **_ACCOUNT_CHANGE, "required": ["id"],
                                "properties": {**_ACCOUNT_CHANGE["properties"], "id": {"type": "string"},
                                               "is_admin": {"type": "boolean"}}})},
        "/admin/accounts/{account_id}": {"get": _operation("One account", admin=True, params=[_path_param("account_id")]),
                                         "patch": _operation("Change an account", admin=True, body=_ACCOUNT_CHANGE,
                                                             params=[_path_param("account_id")])},
        "/admin/keys": {"get": _operation("List keys", admin=True, params=[_query_param("account", {"type": "string"})]),
                        "post": _operation("Create a key", admin=True, body={
                            "type": "object", "required": ["account"], "properties": {
                                "account": {"type": "string"}, "label": {"type": "string", "maxLength": 256},
                                "expires_in_seconds": {"type": "number", "exclusiveMinimum": 0}}})},
        "/admin/keys/{key_id}/revoke": {"post": _operation("Revoke a key", admin=True, params=[_path_param("key_id")])},
        "/admin/keys/{key_id}": {"delete": _operation("Revoke a key", admin=True, params=[_path_param("key_id")])},
        "/admin/policy-events": {"get": _operation("Policy level changes, newest first", admin=True, params=[
            _query_param("account", {"type": "string"}),
            _query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100000})])},
        "/admin/risk": {"get": _operation("The live detector's risk table", admin=True, params=[
            _query_param("account", {"type": "string"}), _query_param("all", {"enum": ["0", "1", "true"]})])},
    }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "DistillShield gateway", "version": "1",
                 "description": "OpenAI-compatible routes behind keys, limits, policy and a complete traffic log. "
                                f"Other /v1 paths forwarded to the upstream (setting upstream_passthrough): {allowed}."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
    return orjson.dumps(document)
