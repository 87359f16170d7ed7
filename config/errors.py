from django.shortcuts import render

from config.requestid import current_request_id


def server_error(request):
    """The friendly 500: no details, but the id support can find the audit event and logs by."""
    request_id = getattr(request, "request_id", "") or current_request_id()
    return render(request, "500.html", {"request_id": request_id}, status=500)
