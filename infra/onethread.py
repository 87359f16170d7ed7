"""One thread per request for the whole middleware chain, not a dozen handoffs.

Django runs each middleware that can work both ways (every `MiddlewareMixin`: sessions, CSRF,
auth, messages...) in the mode of the handler inside it, starting from the view handler, which
is async under ASGI. In async mode a `MiddlewareMixin` sends its `process_request` and
`process_response` to a thread and back, so every request went event loop -> thread -> loop
-> thread about a dozen times (WhiteNoise, sync only, turned the chain back to sync halfway
out). In the rush's profile of the daphnes that handing over (`Condition.notify`, the
executor's `submit`) was a seventh of their CPU.

This sync-only middleware, innermost in MIDDLEWARE, keeps every middleware outside it in sync
mode: the chain runs on one thread, and only the view's own call crosses to the event loop and
back (Django's handler inside is async under ASGI).
"""


class OneThreadMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
