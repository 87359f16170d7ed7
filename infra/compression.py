"""Responses compressed for clients that accept them (Django's GZip), except event streams.

Django's GZip compresses each chunk of an async stream as a gzip member of its own, with its
random padding against BREACH: an event of a hundred bytes would go out larger, as one more
member for the client to unpack. An event stream's messages are small, and each must leave as
it is written, so a stream goes out as it is.
"""

from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware

EVENT_STREAM = "text/event-stream"


class GZipMiddleware(DjangoGZipMiddleware):
    def process_response(self, request, response):
        if response.get("Content-Type", "").startswith(EVENT_STREAM):
            return response
        return super().process_response(request, response)
