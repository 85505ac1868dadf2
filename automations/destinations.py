"""Where webhooks may go: http(s) URLs without credentials, to public internet addresses.

Checked when a marketer saves the URL (with the reason) and again on the very addresses a
delivery connects to (no DNS-rebinding window).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

ALLOW_HINT = "webhooks go to the public internet unless AUTOMATIONS_ALLOW_PRIVATE_URLS is set"

# IPv6 ranges that carry an IPv4 address inside them. Python 3.11's `is_global` calls
# them global, yet each can reach a private or loopback IPv4 address through a relay
# or a NAT64 gateway, so no webhook goes there.
_CARRIERS = [
    (ipaddress.ip_network("2002::/16"), "6to4"),
    (ipaddress.ip_network("2001::/32"), "Teredo"),
    (ipaddress.ip_network("64:ff9b::/96"), "NAT64"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "local-use NAT64"),
    (ipaddress.ip_network("::/96"), "IPv4-compatible"),
]


def address_refusal(address: str) -> str | None:
    """Why a webhook may not connect to this IP address, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            for network, name in _CARRIERS:
                if ip in network:
                    return f"{ip} is a {name} address, which can carry a private IPv4 address"
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is not a public internet address"
    return None


def url_refusal(url: str, *, allow_private: bool, resolve: bool = True) -> str | None:
    """Why a webhook may not go to `url`, or None.

    Credentials in the URL would be logged and shown in admin; the webhook's secret
    signs the request instead. With `resolve`, a host name is looked up and refused
    when any of its addresses is not public; a name that does not resolve (yet) is
    left to the check made when sending.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"Webhooks go to http:// or https:// URLs, not {url!r}."
    if parts.username is not None or parts.password is not None:
        return (
            "A webhook URL cannot carry a user name or password (user:password@host): "
            "they would be logged with every delivery. Receivers check the signature "
            "made with the webhook's secret instead."
        )
    host = parts.hostname
    if not host:
        return "The webhook URL has no host."
    if allow_private:
        return None
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            return None
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None
        addresses = [info[4][0] for info in infos]
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            return f"{host} resolves to a private address ({reason}); {ALLOW_HINT}."
    return None
