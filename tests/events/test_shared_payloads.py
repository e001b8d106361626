"""A `next` payload shared by many subscribers (walletql.fanout.SharedData) is encoded once;
every message around it stays exact."""

from __future__ import annotations

import json

from walletql import fanout
from walletql.app import _shared_message
from walletql.fanout import SharedData


def test_messages_around_one_encoded_payload(monkeypatch):
    encoded = []
    dumps = json.dumps

    def counting_dumps(value, **options):
        encoded.append(value)
        return dumps(value, **options)

    monkeypatch.setattr(fanout.json, "dumps", counting_dumps)
    data = SharedData({"balanceUpdates": {"walletId": "7", "balance": "1.50", "version": 3}})
    for operation in ("a", "b", 'quote"d'):
        message = {"id": operation, "type": "next", "payload": {"data": data}}
        shared = _shared_message(message)
        assert shared is not None and json.loads(shared) == message
    assert encoded.count(data) == 1  # the payload once, for every message


def test_other_messages_are_left_to_the_usual_encoder():
    data = SharedData({"balanceUpdates": None})
    errors = {"data": data, "errors": [{"message": "x"}]}
    assert _shared_message({"id": "1", "type": "next", "payload": errors}) is None
    assert _shared_message({"type": "ping"}) is None
    assert _shared_message({"id": "1", "type": "complete"}) is None
    assert _shared_message({"data": data}) is None  # an HTTP result
    unshared = {"balanceUpdates": {"balance": "1"}}  # one subscriber's own result
    assert _shared_message({"id": "1", "type": "next", "payload": {"data": unshared}}) is None
