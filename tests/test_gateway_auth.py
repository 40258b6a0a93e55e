"""No route but the health check answers without a valid key."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from distillshield.store import split_key

MESSAGES = [{"role": "user", "content": "hi"}]


def client(gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.api_url, api_key=key, max_retries=0)


def test_valid_key_is_served(gateway):
    answer = client(gateway, gateway.user_key).chat.completions.create(model="fast", messages=MESSAGES)
    assert answer.choices[0].message.content == "Hello there, this is a fake answer."


@pytest.mark.parametrize("key", ["", "sk-not-ours", "ds-000000000000-wrongsecret", "ds-short"])
def test_missing_or_wrong_key_is_refused(gateway, key):
    response = httpx.post(gateway.api_url + "/chat/completions", json={"model": "fast", "messages": MESSAGES},
                          headers={"Authorization": f"Bearer {key}"} if key else {})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_right_key_id_with_wrong_secret_is_refused(gateway):
    key_id, _secret = split_key(gateway.user_key)
    with pytest.raises(openai.AuthenticationError):
        client(gateway, f"ds-{key_id}-{'x' * 43}").chat.completions.create(model="fast", messages=MESSAGES)


def test_revoked_key_is_refused_at_once(gateway):
    created = httpx.post(gateway.url + "/admin/keys", json={"account": "default"},
                         headers=gateway.headers(gateway.admin_key)).json()
    user = client(gateway, created["key"])
    user.chat.completions.create(model="fast", messages=MESSAGES)
    revoked = httpx.post(gateway.url + f"/admin/keys/{created['key_id']}/revoke", headers=gateway.headers(gateway.admin_key))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        user.chat.completions.create(model="fast", messages=MESSAGES)


def test_key_revoked_by_another_process_stops_within_cache_time(start_gateway):
    gateway = start_gateway(auth_cache_seconds=0.2)
    key, plaintext = gateway.store.create_key("default")
    user = client(gateway, plaintext)
    user.chat.completions.create(model="fast", messages=MESSAGES)
    gateway.store.revoke_key(key.key_id)
    time.sleep(0.3)
    with pytest.raises(openai.AuthenticationError):
        user.chat.completions.create(model="fast", messages=MESSAGES)


def test_expired_key_is_refused(gateway):
    created = httpx.post(gateway.url + "/admin/keys", json={"account": "default", "expires_in_seconds": 0.3},
                         headers=gateway.headers(gateway.admin_key)).json()
    user = client(gateway, created["key"])
    user.chat.completions.create(model="fast", messages=MESSAGES)
    time.sleep(0.4)
    with pytest.raises(openai.AuthenticationError, match="expired"):
        user.chat.completions.create(model="fast", messages=MESSAGES)


def test_disabled_account_is_refused(gateway):
    changed = httpx.patch(gateway.url + "/admin/accounts/default", json={"disabled": True},
                          headers=gateway.headers(gateway.admin_key))
    assert changed.status_code == 200
    with pytest.raises(openai.PermissionDeniedError):
        client(gateway, gateway.user_key).chat.completions.create(model="fast", messages=MESSAGES)


def test_only_health_answers_without_a_key(gateway):
    assert httpx.get(gateway.url + "/health").status_code == 200
    for method, path in [("GET", "/metrics"), ("GET", "/v1/models"), ("GET", "/admin/accounts"),
                         ("POST", "/v1/completions"), ("GET", "/v1/anything"), ("GET", "/"), ("GET", "/docs")]:
        assert httpx.request(method, gateway.url + path).status_code == 401, path


def test_unknown_route_with_a_key_is_404_json(gateway):
    response = httpx.get(gateway.url + "/nowhere", headers=gateway.headers())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_admin_routes_and_metrics_need_an_admin_key(gateway):
    for method, path in [("GET", "/admin/accounts"), ("POST", "/admin/keys"), ("GET", "/metrics")]:
        response = httpx.request(method, gateway.url + path, headers=gateway.headers())
        assert response.status_code == 403, path
    metrics = httpx.get(gateway.url + "/metrics", headers=gateway.headers(gateway.admin_key))
    assert metrics.status_code == 200
    assert "distillshield_requests_total" in metrics.text
    assert "distillshield_refusals_total" in metrics.text
    assert "distillshield_log_queue_depth" in metrics.text


def test_admin_api_creates_accounts_and_keys(gateway):
    admin = gateway.headers(gateway.admin_key)
    made = httpx.post(gateway.url + "/admin/accounts", json={"id": "acme", "rpm": 5}, headers=admin)
    assert made.status_code == 201 and made.json()["rpm"] == 5
    again = httpx.post(gateway.url + "/admin/accounts", json={"id": "acme"}, headers=admin)
    assert again.status_code == 400 and again.json()["error"]["code"] == "account_exists"
    key = httpx.post(gateway.url + "/admin/keys", json={"account": "acme", "label": "ci"}, headers=admin).json()
    assert key["key"].startswith("ds-") and key["account_id"] == "acme"
    listed = httpx.get(gateway.url + "/admin/keys?account=acme", headers=admin).json()["data"]
    assert [item["key_id"] for item in listed] == [key["key_id"]]
    assert all("secret_hash" not in item and "key" not in item for item in listed)
    answer = client(gateway, key["key"]).chat.completions.create(model="fast", messages=MESSAGES)
    assert answer.choices
    missing = httpx.post(gateway.url + "/admin/keys", json={"account": "nobody"}, headers=admin)
    assert missing.status_code == 404


def test_keys_are_stored_only_as_hashes_and_never_logged(gateway):
    admin = gateway.headers(gateway.admin_key)
    plaintext = httpx.post(gateway.url + "/admin/keys", json={"account": "default"}, headers=admin).json()["key"]
    _key_id, secret = split_key(plaintext)
    with open(gateway.store.url, "rb") as handle:
        database = handle.read()
    gateway.gateway.log_writer.wait_written()
    wal = open(gateway.store.url + "-wal", "rb").read() if __import__("os").path.exists(gateway.store.url + "-wal") else b""
    assert secret.encode() not in database + wal
