"""The client's IP address as the lockout and every rate limit see it.

Production runs behind TLS proxies, so REMOTE_ADDR is the nearest proxy's address for every client.
Each trusted proxy appends the address it received the request from to X-Forwarded-For, so with
TRUSTED_PROXY_COUNT = N the client is the N-th entry from the right. Entries further left were
written by the client and are ignored (anyone can send an X-Forwarded-For header). With 0 (the
default, no proxy) the header is ignored and REMOTE_ADDR is the client.
"""

import ipaddress

from django.conf import settings


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    entries = [e for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
    if len(entries) < count:  # the request did not pass every trusted proxy
        return remote
    return _valid_ip(entries[-count]) or remote
