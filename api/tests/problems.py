"""What every API test checks of a refusal: the status, the problem+json form, the code."""

API = "/api/v1"


def assert_problem(response, status: int, code: str) -> dict:
    """The refusal's body, once it is a problem (RFC 9457) with this status and code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["detail"] and body["title"] and body["type"].endswith(f"#{code}")
    return body
