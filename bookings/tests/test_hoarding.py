"""Hoarding through the running stack: an account that re-posts its seats every second loses
them at its deadline, and someone else gets them."""

import re
import time

import requests

from conftest import TEST_REDIS_URL
from tests.e2e.stack import PASSWORD, running_stack

TTL, EXTENSIONS, SWEEP_INTERVAL = 2, 1, 0.5
DEADLINE = TTL * (1 + EXTENSIONS)


def _signed_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    session.post(
        f"{base}/accounts/login/",
        data={
            "login": f"{username}@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
    )
    assert "sessionid" in session.cookies
    return session


def _hold(session: requests.Session, base: str, showtime_id: int, seats: list[str]) -> int:
    response = session.post(
        f"{base}/showtimes/{showtime_id}/hold/",
        data={"seats": seats, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code


def test_reposting_the_same_seats_every_second_does_not_keep_them(redis_db):
    env = {"HOLD_MAX_EXTENSIONS": str(EXTENSIONS)}
    with running_stack(redis_url=TEST_REDIS_URL, hold_ttl=TTL, extra_env=env) as (base,):
        # Any film's page lists its times for the week (the home page shows one day only).
        films = requests.get(f"{base}/movies/the-long-orbit/", timeout=10).text
        showtime_id = int(re.search(r'href="/showtimes/(\d+)/"', films).group(1))
        page = requests.get(f"{base}/showtimes/{showtime_id}/", timeout=10).text
        seats = re.findall(r'name="seats" value="([A-Z]+\d+)"', page)[:2]
        hoarder, other = _signed_in(base, "alice"), _signed_in(base, "bruno")

        started = time.monotonic()
        assert _hold(hoarder, base, showtime_id, seats) == 303
        hoarder_answers, got_them_after = [], None
        next_repost = started + 1
        while time.monotonic() - started < DEADLINE + 4:
            if time.monotonic() >= next_repost:
                hoarder_answers.append(_hold(hoarder, base, showtime_id, seats))
                next_repost += 1
            if _hold(other, base, showtime_id, seats) == 303:
                got_them_after = time.monotonic() - started
                break
            time.sleep(0.1)

    assert got_them_after is not None, f"never got the seats; the hoarder got {hoarder_answers}"
    # Within the bound plus the sweeper's interval (and a request's worth of slack).
    assert DEADLINE - 0.5 <= got_them_after <= DEADLINE + SWEEP_INTERVAL + 0.5
    assert 303 in hoarder_answers  # re-posting worked until the deadline, then it did not
