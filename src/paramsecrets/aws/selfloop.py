"""Whether an endpoint URL's host and port are this server itself: addresses compared, not spellings.

`http://localhost:2773`, `http://127.0.0.1:2773`, `http://0:2773`, `http://[::ffff:127.0.0.1]:2773`,
`http://2130706433:2773` and a DNS name that resolves to 127.0.0.1 all reach this server when it
listens on 2773; a check of spellings missed most of them, and every miss made the server call
itself (a 504 after 9 s per read). Hosts are turned into addresses (numeric forms as the C library
reads them, `inet_aton` included; names through the resolver), IPv4-mapped IPv6 addresses are
unmapped, and an address is ours when it is loopback, the any-address, the listen address, or (when
listening on the any-address) an address of this host.

Only `_socket` (the C module): this runs before Lambda's `next`, and the resolver is consulted only
for a name on our own port (never for AWS's hosts on 443).
"""

from __future__ import annotations

import _socket

V4_MAPPED_PREFIX = b"\0" * 10 + b"\xff\xff"
ANY_V4, ANY_V6, LOOPBACK_V6 = b"\0" * 4, b"\0" * 16, b"\0" * 15 + b"\1"


def packed_addresses(host: str) -> list[bytes]:
    """The addresses `host` stands for, packed (4 bytes for IPv4, 16 for IPv6), IPv4-mapped unmapped;
    [] when it cannot be resolved."""
    host = host.strip("[]").partition("%")[0]  # brackets and an IPv6 zone do not change the address
    found: list[bytes] = []
    for family in (_socket.AF_INET6, _socket.AF_INET):
        try:
            found = [_socket.inet_pton(family, host)]
            break
        except OSError:
            continue
    if not found and host and all(char in "0123456789abcdefxABCDEFX." for char in host):
        try:  # noqa: SIM105 - contextlib is one more import before `next`; forms: `0`, `127.1`, `2130706433`
            found = [_socket.inet_aton(host)]
        except OSError:
            pass
    if not found:
        if host.lower().rstrip(".") == "localhost" or host.lower().rstrip(".").endswith(".localhost"):
            return [b"\x7f\0\0\1", LOOPBACK_V6]  # RFC 6761: always loopback, no lookup needed
        found = _resolved(host)
    return [unmapped(address) for address in found]


def _resolved(host: str) -> list[bytes]:
    try:
        answers = _socket.getaddrinfo(host, None, 0, _socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found = []
    for family, _, _, _, sockaddr in answers:
        try:
            found.append(_socket.inet_pton(family, str(sockaddr[0]).partition("%")[0]))
        except OSError:
            continue
    return found


def unmapped(address: bytes) -> bytes:
    """`::ffff:a.b.c.d` as the IPv4 address it is."""
    return address[12:] if len(address) == 16 and address.startswith(V4_MAPPED_PREFIX) else address


def loopback_or_any(address: bytes) -> bool:
    """127.0.0.0/8, ::1, 0.0.0.0 and :: (connecting to the any-address reaches this host)."""
    if len(address) == 4:
        return address[0] == 127 or address == ANY_V4
    return address in (LOOPBACK_V6, ANY_V6)


def of_this_host(address: bytes) -> bool:
    """Whether `address` belongs to an interface of this host (binding to it succeeds)."""
    family = _socket.AF_INET if len(address) == 4 else _socket.AF_INET6
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        sock.bind((_socket.inet_ntop(family, address), 0))
    except OSError:
        return False
    finally:
        sock.close()
    return True


def is_this_server(host: str, port: int, own_port: int | None, own_address: str = "") -> bool:
    """Whether `host:port` reaches this server, which listens on `own_port` at `own_address`
    ("" is loopback)."""
    if own_port is None or port != own_port:
        return False
    listening = unmapped(packed_addresses(own_address)[0]) if own_address else None
    everywhere = listening in (ANY_V4, ANY_V6)
    for address in packed_addresses(host):
        if loopback_or_any(address) or address == listening or (everywhere and of_this_host(address)):
            return True
    return False
