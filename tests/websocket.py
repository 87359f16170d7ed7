"""What the WebSocket tests share: the Origin header, a signed-in session cookie, and closing the
database connection of asgiref's worker thread."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.test import Client

# The site's own origin (infra.origins compares scheme, host and port with it).
ORIGIN = (b"origin", settings.SITE_URL.encode())


@pytest.fixture(autouse=True)
async def close_worker_connections():
    """Database work here runs on asgiref's worker thread; close its connection afterwards so the
    test database can be dropped at the end of the run."""
    yield
    await sync_to_async(connections.close_all)()


async def session_cookie(user) -> tuple[bytes, bytes]:
    """The cookie header of a session signed in as `user`."""

    def sign_in():
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    return (b"cookie", f"sessionid={await sync_to_async(sign_in)()}".encode())
