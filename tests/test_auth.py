"""Client authentication: Bearer and x-api-key, hashed keys, constant-time comparison, open mode."""

from __future__ import annotations

import hashlib

import pytest
from mitmproxy.test import taddons, tflow

from addon.auth import ClientAuth, key_id
from addon.config import Config


def run(keys: list[str], headers: dict[str, str], path: str = "/v1/models"):
    config = Config()
    auth = ClientAuth(config)
    with taddons.context(config, auth) as tctx:
        tctx.configure(config, vertex_api_keys=keys)
        flow = tflow.tflow()
        flow.request.path = path
        flow.request.headers.clear()
        flow.request.headers.update(headers)
        auth.request(flow)
        return flow


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer s3cret"}, {"x-api-key": "s3cret"},
                                     {"authorization": "bearer   s3cret "}])
def test_accepted_key_forms(headers):
    flow = run(["s3cret"], headers)
    assert flow.response is None
    assert flow.metadata["vertex_bridge.key_id"] == key_id("s3cret")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"},
                                     {"x-api-key": ""}])
def test_rejected(headers):
    flow = run(["s3cret"], headers)
    assert flow.response.status_code == 401
    assert flow.response.json()["error"]["code"] == "invalid_api_key"


def test_sha256_stored_keys():
    stored = "sha256:" + hashlib.sha256(b"hashed-key").hexdigest()
    assert run([stored], {"Authorization": "Bearer hashed-key"}).response is None
    assert run([stored], {"Authorization": f"Bearer {stored}"}).response.status_code == 401


def test_health_needs_no_key():
    assert run(["s3cret"], {}, path="/health").response is None


def test_no_keys_serves_openly():
    assert run([], {}).response is None


def test_key_id_never_reveals_the_key():
    assert "s3cret" not in key_id("s3cret") and len(key_id("s3cret")) == 10
