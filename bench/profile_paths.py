"""Profile one of the benchmark's paths with pyinstrument, in-process, on the working copy the last bench run left.

    .venv/bin/python bench/profile_paths.py checkin [--scale tenth] [--requests 2000]
    .venv/bin/python bench/profile_paths.py verify | baseline-scan | baseline-read | volunteer-page | org-dashboard

The requests are the bench's own (bench/wrk/*.lua send the same), made through Flask's test client with the
production config, so the profile shows the app's time without the HTTP server. Prints pyinstrument's text report
(``--html FILE`` writes the interactive one too).
"""
# ruff: noqa: E402  (the repository root goes on sys.path before the app is imported: it is not installed)
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pyinstrument import Profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", choices=["checkin", "verify", "baseline-scan", "baseline-read", "volunteer-page",
                                         "org-dashboard"])
    parser.add_argument("--scale", default="tenth", help="the working copy bench/.cache/run-SCALE")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args()
    instance = ROOT / "bench" / ".cache" / f"run-{args.scale}"
    fixture = json.loads((instance / "bench" / "fixture.json").read_text())
    os.environ.update({"VOLUNTEER_REGISTRY_ENV": "production", "VOLUNTEER_REGISTRY_RATELIMIT_ENABLED": "false",
                       "VOLUNTEER_REGISTRY_INSTANCE": str(instance),
                       "PUBLIC_URL": "https://volunteer.example.gov.cn"})
    from bench.app import app

    client = app.test_client()
    volunteers = [line.split() for line in (instance / "bench" / "volunteers.txt").read_text().splitlines()]
    stamp = int(time.time())

    def sign_in(email: str) -> None:
        """The sign-in form, over HTTPS as production's secure cookie needs (the test client keeps the cookie)."""
        page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
        token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        answer = client.post("/login", data={"csrf_token": token, "identifier": email,
                                              "password": "demo-password-2026"}, base_url="https://localhost",
                             headers={"Referer": "https://localhost/login"})  # CSRF over HTTPS checks it
        assert answer.status_code == 302, answer.status_code

    def one(i: int):
        number, volunteer_id = volunteers[i % len(volunteers)]
        if args.path == "checkin":
            return client.post("/api/v1/scans", json={
                "event_id": f"profile{stamp}-{i}", "activity": fixture["activity_code"], "volunteer_number": number,
                "direction": "auto"}, headers={"Authorization": "Bearer " + fixture["token"]})
        if args.path == "baseline-scan":
            return client.post("/bench/baseline/scan", json={
                "event_id": f"profile{stamp}-{i}", "activity_id": fixture["activity_id"],
                "organization_id": fixture["organization_id"], "volunteer_id": int(volunteer_id),
                "recorded_by_id": fixture["coordinator_id"]})
        if args.path == "verify":
            paths = fixture["verify_paths"]
            return client.get(paths[i % len(paths)], headers={"Accept": "application/json"})
        if args.path == "baseline-read":
            codes = fixture["certificate_codes"]
            return client.get(f"/bench/baseline/certificate/{codes[i % len(codes)]}")
        if args.path == "volunteer-page":
            return client.get("/", base_url="https://localhost")
        return client.get(f"/organizations/{fixture['dashboard_code']}/dashboard", base_url="https://localhost")

    if args.path == "volunteer-page":
        sign_in(fixture["volunteer_email"])
    elif args.path == "org-dashboard":
        sign_in(fixture["dashboard_admin"])
    for i in range(20):  # warm-up
        assert one(10**6 + i).status_code < 400
    profiler = Profiler(interval=0.0005)
    began = time.perf_counter()
    with profiler:
        for i in range(args.requests):
            answer = one(i)
            if answer.status_code >= 400:
                raise SystemExit(f"request {i} answered {answer.status_code}: {answer.get_data()[:300]!r}")
    took = time.perf_counter() - began
    print(f"{args.path}: {args.requests} requests in {took:.2f} s under the profiler "
          f"({took / args.requests * 1000:.2f} ms each)")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        Path(args.html).write_text(profiler.output_html())


if __name__ == "__main__":
    main()
