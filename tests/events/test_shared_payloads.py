"""A `next` payload shared by many subscribers is encoded once; every message stays exact."""

from __future__ import annotations

import json

from walletql import app
from walletql.app import SharedPayloads


def test_messages_around_one_encoded_payload(monkeypatch):
    encoded = []
    dumps = json.dumps

    def counting_dumps(value, **options):
        encoded.append(value)
        return dumps(value, **options)

    monkeypatch.setattr(app.json, "dumps", counting_dumps)
    payloads = SharedPayloads()
    data = {"balanceUpdates": {"walletId": "7", "balance": "1.50", "version": 3}}
    for operation in ("a", "b", 'quote"d'):
        message = {"id": operation, "type": "next", "payload": {"data": data}}
        assert json.loads(payloads.message(message)) == message
    assert encoded.count(data) == 1  # the ids are encoded each time, the payload once


def test_other_messages_are_left_to_the_usual_encoder():
    payloads = SharedPayloads()
    data = {"balanceUpdates": None}
    errors = {"data": data, "errors": [{"message": "x"}]}
    assert payloads.message({"id": "1", "type": "next", "payload": errors}) is None
    assert payloads.message({"type": "ping"}) is None
    assert payloads.message({"id": "1", "type": "complete"}) is None
    assert payloads.message({"data": data}) is None  # an HTTP result


def test_a_new_object_at_a_reused_address_is_encoded_afresh():
    payloads = SharedPayloads(size=1)
    first = {"n": 1}
    payloads.message({"id": "1", "type": "next", "payload": {"data": first}})
    second = {"n": 2}
    payloads.message({"id": "1", "type": "next", "payload": {"data": second}})  # evicts first
    message = {"id": "2", "type": "next", "payload": {"data": first}}
    assert json.loads(payloads.message(message)) == message
