"""Under ASGI a request's middleware chain runs on one thread: one handoff in, one for the view."""

import pytest
from asgiref import sync
from django.test import AsyncClient


@pytest.mark.django_db(transaction=True)
async def test_a_request_crosses_to_a_thread_only_for_the_chain_and_the_view(monkeypatch, settings):
    crossings = []
    to_thread = sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        crossings.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await to_thread(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    response = await AsyncClient().get("/health")
    assert response.status_code == 200
    # The request_started signal, the chain, CSRF's process_view and the view (Django's async
    # handler runs those two), closing the response. Without infra.onethread every async-mode
    # MiddlewareMixin (sessions, CSRF, auth...) also sent process_request and process_response
    # to a thread and back: 15 crossings for this request.
    assert len(crossings) <= 5, crossings
