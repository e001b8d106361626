"""Who is on the other end of a connection, for sign-in throttling: the connection's peer, or
the address a trusted proxy forwarded (X-Forwarded-For) when the peer is one.

Each proxy appends the address it was connected from, so only the right-hand part of the
header, written by trusted proxies, can be believed: walking it from the right, the first
address that is not a trusted proxy is the client. Anything to its left was written by that
client and proves nothing. The same for HTTP requests and websockets (their upgrade request).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from walletql.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parsed(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


def _trusted(address: Address, proxies: Iterable[Network]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str:
    """The client's address, as text, from the peer's address and the X-Forwarded-For header
    values (in order), believing the header only from `proxies`. "unknown" when the peer is not
    an IP address (a unix socket, an in-process client): they all count as one."""
    address = _parsed(peer) if peer else None
    if address is None:
        return "unknown"
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    while _trusted(address, proxies) and hops:
        forwarded = _parsed(hops.pop())
        if forwarded is None:  # the trusted proxy passed on nonsense: it is the client we know
            break
        address = forwarded
    return str(address)


def of_connection(connection: Any, proxies: tuple[Network, ...]) -> str:
    """`client_address` of a Starlette request or websocket."""
    client = getattr(connection, "client", None)
    headers = getattr(connection, "headers", None)
    forwarded = headers.getlist("x-forwarded-for") if headers is not None else []
    return client_address(client.host if client else None, forwarded, proxies)
