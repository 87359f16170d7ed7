"""Where webhooks may go: addresses on the internet, not the cinema's own network.

A Manager types an endpoint's URL, and the worker posts to it from inside the deployment: to
`http://10.0.0.5/` or `http://localhost:6379/` it would reach what the internet cannot (the
database's neighbours, a cloud's metadata service). So an address that is not global (loopback,
private, link-local, reserved) is refused: when the URL is saved, if it names one, and before
each attempt, once its host is resolved (a name may point anywhere, and may change). Unless
WEBHOOK_PRIVATE_ADDRESSES allows them: on by default with DEBUG (a receiver on this machine, in
development and the tests), off in production unless set, for a till on the cinema's own LAN.

The name is resolved again by the HTTP client when it connects; a name that changes its answer
in between (DNS rebinding) slips through that gap. Pinning the connection to the address checked
is the next step if receivers are ever untrusted beyond the Managers who register them.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(ValueError):
    """The URL leads into a network webhooks may not reach."""


def check(url: str, *, resolve: bool) -> None:
    """Raise AddressRefused if the URL's host is (or, with `resolve`, resolves to) an address
    that is not global; with private addresses allowed, nothing is refused."""
    if settings.WEBHOOK_PRIVATE_ADDRESSES:
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise AddressRefused("A webhook URL is http:// or https:// and names a host.")
    for address in _addresses(host, resolve=resolve):
        if not address.is_global:
            raise AddressRefused(
                f"{host} is a private or local address ({address}): webhooks go to the "
                "internet only (WEBHOOK_PRIVATE_ADDRESSES allows the cinema's own network)."
            )


def _addresses(host: str, *, resolve: bool) -> list:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    if not resolve:
        return []
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []  # unresolvable: the attempt fails on its own, as any unreachable receiver
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
