"""Benchmark 1: the cost of server-side tracking on complete quiz runs.

Runs the demo quiz end to end (intro, start, every question shown and
answered, lead form, result) through Django's full request stack, with
tracking on and off, interleaved in one run so the machine's noise hits both.
Target: on/off ratio at most 1.15.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/tracking_overhead.py
"""

import re
import statistics
import sys

from harness import median_ms, throwaway_database, timed

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def quiz_run(client_class, slug):
    client = client_class()
    page = client.get(f"/q/{slug}/").content.decode()
    key = re.search(r'name="start_key" value="([^"]+)"', page)[1]
    url = client.post(f"/q/{slug}/start/", {"start_key": key})["Location"]
    while "/details/" not in url:
        page = client.get(url).content.decode()
        option = re.search(r'name="answer" value="([^"]+)"', page)
        response = client.post(url, {"answer": option[1] if option else "fine"})
        url = response["Location"]
    client.get(url)
    result = client.post(url, {"email": "bench@example.com"})["Location"]
    assert client.get(result).status_code == 200


def main():
    from django.core.management import call_command
    from django.test import Client

    from tracking import receivers
    from tracking.models import ConversionEvent

    with throwaway_database():
        call_command("seed_demo", "--no-admin", verbosity=0)
        slug = "marketing-measurement"
        for _ in range(3):  # warm up both paths
            quiz_run(Client, slug)
        on, off = [], []
        for i in range(RUNS):
            for mode in ("on", "off") if i % 2 == 0 else ("off", "on"):
                if mode == "on":
                    receivers.connect()
                    on.append(timed(quiz_run, Client, slug))
                else:
                    receivers.disconnect()
                    off.append(timed(quiz_run, Client, slug))
        receivers.connect()
        events = ConversionEvent.objects.count()
        # Each on/off pair ran back to back: the median of their ratios is what
        # tracking costs, less the drift of a shared machine between pairs.
        pair_ratios = [a / b for a, b in zip(on, off, strict=True)]
        ratio = statistics.median(pair_ratios)
        print(f"complete quiz runs: {RUNS} with tracking on, {RUNS} off (interleaved)")
        print(f"median run, tracking on:  {median_ms(on):8.1f} ms")
        print(f"median run, tracking off: {median_ms(off):8.1f} ms")
        print(f"ratio of the medians: {median_ms(on) / median_ms(off):.3f}")
        print(f"events recorded: {events} ({events / (RUNS + 3):.1f} per run with tracking on)")
        verdict = "met" if ratio <= 1.15 else "NOT met"
        print(
            f"ratio on/off, median of {RUNS} side-by-side pairs: {ratio:.3f}  "
            f"(target <= 1.15: {verdict})"
        )


if __name__ == "__main__":
    main()
