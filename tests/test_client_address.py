"""The client address sign-in throttling counts: the peer, or what trusted proxies forwarded."""

import pytest

from walletql.client_address import client_address
from walletql.settings import LOOPBACK, load

TEN = load(environ={"WALLETQL_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8"}).trusted_proxies


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        # No header, or an untrusted peer: the peer, whatever the header says.
        ("203.0.113.7", [], TEN, "203.0.113.7"),
        ("203.0.113.7", ["198.51.100.1"], TEN, "203.0.113.7"),
        ("127.0.0.2", ["198.51.100.1"], LOOPBACK, "127.0.0.2"),
        ("10.0.0.1", ["198.51.100.1"], (), "10.0.0.1"),
        # A trusted peer: the right-most address that is not a trusted proxy.
        ("10.0.0.1", ["198.51.100.1"], TEN, "198.51.100.1"),
        ("10.0.0.1", ["6.6.6.6, 198.51.100.1, 10.2.3.4"], TEN, "198.51.100.1"),
        ("10.0.0.1", ["6.6.6.6", "198.51.100.1, 10.2.3.4"], TEN, "198.51.100.1"),  # two headers
        ("10.0.0.1", ["198.51.100.1:4711"], TEN, "198.51.100.1"),
        ("10.0.0.1", ["[2001:db8::1]:4711"], TEN, "2001:db8::1"),
        ("fd00::5", ["2001:db8::1"], TEN, "2001:db8::1"),
        ("::ffff:10.0.0.1", ["198.51.100.1"], TEN, "198.51.100.1"),
        # Only trusted proxies: the left-most of them. Nonsense: the proxy that passed it on.
        ("10.0.0.1", ["10.9.9.9, 10.2.3.4"], TEN, "10.9.9.9"),
        ("10.0.0.1", ["198.51.100.1, unknown"], TEN, "10.0.0.1"),
        ("10.0.0.1", [""], TEN, "10.0.0.1"),
        # No IP peer (a unix socket, an in-process client): one address for all of them.
        (None, ["198.51.100.1"], TEN, "unknown"),
        ("testclient", [], TEN, "unknown"),
    ],
)
def test_client_address(peer, forwarded, proxies, expected):
    assert client_address(peer, forwarded, proxies) == expected
