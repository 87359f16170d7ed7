"""The live queue's read after each pass: every watcher's place, as a pipeline or one script.

    .venv/bin/python bench/queue_places.py
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/queue_places.py --queued 5000 \\
        --watchers 2500 --rounds 21

After each pass of the waiting room's worker, each web process reads the place of every member
whose queue page it holds open (waitingroom.consumers._places -> queue.places). This fills a
room in the Redis of REDIS_URL (default redis://127.0.0.1:6379/13, emptied at the start and at
the end) with `--queued` members, lets the first 150 in, and reads `--watchers` of them spread
through the queue, in the two ways side by side, alternating which goes first each round:
- "pipeline": two commands per member (ZSCORE on the admitted, ZRANK on the queue) in one
  pipeline, as queue.places did before (kept here as it was, to measure against);
- "script": queue.places now, one Lua script (waitingroom/lua/places.lua) per 2,000 members.
Printed: medians over the rounds of this process's CPU time (time.process_time: what holds the
GIL that the web process's event loop shares) and wall time per read, and their ratio. Both ways
must give the same places (checked each round).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # no SECRET_KEY needed: nothing here is served
os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"

import django

django.setup()

from infra.redis import get_redis
from waitingroom import queue

SHOWTIME = 990_001


def pipelined(*, showtime_id: int, members: list[str], now: int) -> list[queue.Place | None]:
    """queue.places as it was before the script (two commands per member in one pipeline)."""
    keys = queue._keys(showtime_id)
    with get_redis().pipeline(transaction=False) as pipe:
        for member in members:
            pipe.zscore(keys["active"], member)
            pipe.zrank(keys["queue"], member)
        replies = pipe.execute()
    found: list[queue.Place | None] = []
    for deadline, rank in zip(replies[::2], replies[1::2], strict=True):
        if deadline is not None and deadline > now:
            found.append(queue.Place(admitted=True, deadline_ms=int(deadline)))
        else:
            found.append(queue.Place(admitted=False, ahead=rank) if rank is not None else None)
    return found


def scripted(*, showtime_id: int, members: list[str], now: int) -> list[queue.Place | None]:
    return queue.places(showtime_id=showtime_id, members=members, now=now)


WAYS = {"pipeline": pipelined, "script": scripted}


def fill(queued: int) -> int:
    client = get_redis()
    client.delete(*queue._keys(SHOWTIME).values())
    start = queue.now_ms()
    with client.pipeline(transaction=False) as pipe:
        # What joining leaves for a member after on-sale: its arrival as its score.
        for n in range(queued):
            pipe.zadd(queue._keys(SHOWTIME)["queue"], {f"u{n}": start + n})
        pipe.execute()
    rules = queue.Rules(on_sale_ms=0, max_active=150, rate_per_minute=10_000, window_ms=600_000)
    queue.admit(showtime_id=SHOWTIME, rules=rules, now=start + queued)
    return start + queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=5000)
    parser.add_argument("--watchers", type=int, default=2500)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    now = fill(args.queued)
    step = max(1, args.queued // args.watchers)
    members = [f"u{n}" for n in range(0, args.queued, step)][: args.watchers]
    cpu = {way: [] for way in WAYS}
    wall = {way: [] for way in WAYS}
    try:
        for round_ in range(args.rounds):
            order = list(WAYS) if round_ % 2 == 0 else list(reversed(WAYS))
            answers = {}
            for way in order:
                started, started_cpu = time.perf_counter(), time.process_time()
                answers[way] = WAYS[way](showtime_id=SHOWTIME, members=members, now=now)
                cpu[way].append((time.process_time() - started_cpu) * 1000)
                wall[way].append((time.perf_counter() - started) * 1000)
            assert answers["pipeline"] == answers["script"], "the two ways disagree"
    finally:
        get_redis().delete(*queue._keys(SHOWTIME).values())
    admitted = sum(1 for place in answers["script"] if place and place.admitted)
    print(
        f"queue_places: {args.queued} queued, {len(members)} watchers read ({admitted} of them "
        f"admitted), {args.rounds} rounds alternating, Redis {os.environ['REDIS_URL']}"
    )
    print("| per read, medians | CPU ms | wall ms |")
    print("| --- | --- | --- |")
    for way in WAYS:
        print(f"| {way} | {statistics.median(cpu[way]):.2f} | {statistics.median(wall[way]):.2f} |")
    ratio_cpu = statistics.median(cpu["pipeline"]) / statistics.median(cpu["script"])
    ratio_wall = statistics.median(wall["pipeline"]) / statistics.median(wall["script"])
    print(f"pipeline / script: CPU {ratio_cpu:.1f}x, wall {ratio_wall:.1f}x")


if __name__ == "__main__":
    main()
