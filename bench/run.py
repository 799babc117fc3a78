"""The province-scale benchmark: the app under gunicorn on 127.0.0.1 (two sync workers, the production config),
loaded by wrk, every hot path measured against a baseline in the same run.

    .venv/bin/python bench/run.py            # the province against a tenth of it (first run seeds both: ~8 min)
    .venv/bin/python bench/run.py --quick    # a tenth against a hundredth, short loads: under 3 minutes

Figures (written to bench/results.json, or bench/results-quick.json with --quick, and printed as a table):

checkin_vs_baseline   POST /api/v1/scans (card scans by a coordinator's token, checking 2,000 volunteers in and out
                      in turn, half of them in at the start: half the scans are check-outs, each writing a ledger
                      entry) against POST /bench/baseline/scan (one ORM insert of
                      a scans row and the commit), requests per second under the same load; p50/p99 and errors too
verify_vs_baseline    GET /V/<token> as JSON (the QR link: COSE signature, record match, checkpoint, and the logged
                      verification) against GET /bench/baseline/certificate/<code> (one ORM read by key)
issue_vs_weasyprint   POST /bench/issue (issue_certificate and the commit: render, sign, store) against POST
                      /bench/render (bare WeasyPrint on the same certificate's HTML), inside the same workers
growth_volunteer_page GET / for a volunteer with the same number of entries, at the large scale against the small
growth_org_dashboard  GET /organizations/<code>/dashboard of an organization of the same size (approved entries)
growth_verify         GET /V/<token> as JSON, one client
worker_peak_rss_mb    the largest peak resident set (VmHWM) of a worker through the whole large-scale run
province_seed_seconds `flask demo seed --scale province`, wall time (measured when the data set was built; cached
                      data sets keep the figure)

The data sets are built with ``flask db upgrade`` and ``flask demo seed --scale ...`` into bench/.cache/ and kept
between runs (rebuilt when the seed code or the migrations change); each run works on a fresh copy. wrk targets
127.0.0.1 only, every load is bounded in time, and the workers are stopped at the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"
BIN = Path(sys.executable).parent
PUBLIC_URL = "https://volunteer.example.gov.cn"
PASSWORD = "demo-password-2026"  # the seeded accounts' password (volunteer_registry/demo/province.py)
HOST = "127.0.0.1"

#: (large, small) scales compared, load seconds per sample, samples per path, issue rounds
MODES = {
    "full": {"scales": ("province", "tenth"), "load": 10, "samples": 2, "page": 8, "rounds": 20,
             "org_entries": 1_000},
    "quick": {"scales": ("tenth", "hundredth"), "load": 4, "samples": 1, "page": 3, "rounds": 4,
              "org_entries": 300},
}
#: wrk's load: threads and connections (two sync workers; eight connections keep both busy with a queue)
THREADS, CONNECTIONS = 2, 8
#: the growth subjects: a volunteer with this many approved entries, and an organization with about as many as the
#: mode says at the small scale, and then the organization closest to that one's size at the large scale
VOLUNTEER_ENTRIES = 6
#: how many volunteers the check-in load cycles through, and certificates the verification load cycles through
SCANNED_VOLUNTEERS, VERIFIED_CERTIFICATES = 2_000, 8
#: targets (issue 7); ratio direction: "min" means the ratio must be at least the target
TARGETS = {
    "checkin_vs_baseline": (0.6, "min"), "verify_vs_baseline": (0.6, "min"), "issue_vs_weasyprint": (1.3, "max"),
    "growth_volunteer_page": (1.5, "max"), "growth_org_dashboard": (1.5, "max"), "growth_verify": (1.5, "max"),
    "worker_peak_rss_mb": (1.0, "max"), "province_seed_seconds": (1.0, "max"),
}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- data sets -----------------------------------------------------------------------------------------------------

def fingerprint() -> str:
    """What the seeded data depends on: the seed code and the migrations."""
    digest = hashlib.sha256()
    sources = [ROOT / "volunteer_registry/demo/province.py", *sorted((ROOT / "migrations/versions").glob("*.py"))]
    for path in sources:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def app_env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOLUNTEER_REGISTRY_", "DATABASE_URL"))}
    env.update({"VOLUNTEER_REGISTRY_INSTANCE": str(instance), "FLASK_APP": "volunteer_registry",
                "PUBLIC_URL": PUBLIC_URL, "PYTHONPATH": str(ROOT)}, **extra)
    return env


def dataset(scale: str, seed: int) -> tuple[Path, dict]:
    """The cached instance folder of a seeded data set (built when missing) and what its build measured."""
    key = f"{scale}-seed{seed}-{fingerprint()}"
    folder = CACHE / key
    meta_path = folder / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        say(f"data set {scale}: cached ({key}, seeded in {meta['seed_seconds']:.0f} s on {meta['built']})")
        return folder / "instance", meta
    for stale in CACHE.glob(f"{scale}-seed{seed}-*"):
        shutil.rmtree(stale)
    building = CACHE / (key + ".building")
    shutil.rmtree(building, ignore_errors=True)
    instance = building / "instance"
    instance.mkdir(parents=True)
    env = app_env(instance)
    say(f"data set {scale}: building in {building} (flask db upgrade, flask demo seed --scale {scale})")
    subprocess.run([BIN / "flask", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    began = time.perf_counter()
    subprocess.run([BIN / "flask", "demo", "seed", "--scale", scale, "--seed", str(seed)], env=env, cwd=ROOT,
                   check=True)
    seconds = time.perf_counter() - began
    meta = {"scale": scale, "seed": seed, "seed_seconds": round(seconds, 1), "built": dt.date.today().isoformat(),
            "fingerprint": fingerprint()}
    (building / "meta.json").write_text(json.dumps(meta, indent=2))
    building.rename(folder)
    say(f"data set {scale}: seeded in {seconds:.1f} s")
    return folder / "instance", meta


def working_copy(instance: Path, scale: str) -> Path:
    """A fresh copy of a cached instance folder: the run writes scans, certificates and verifications into it."""
    target = CACHE / f"run-{scale}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(instance, target)
    return target


# --- what the loads need: subjects, a scanning coordinator, certificates ------------------------------------------

@dataclass
class Fixture:
    scale: str
    files: Path
    activity_code: str = ""
    activity_id: int = 0
    organization_id: int = 0
    coordinator_id: int = 0
    token: str = ""
    verify_paths: list[str] = field(default_factory=list)
    certificate_codes: list[str] = field(default_factory=list)
    volunteer_email: str = ""
    volunteer_entries: int = 0
    dashboard_code: str = ""
    dashboard_admin: str = ""
    dashboard_entries: int = 0
    issue_jobs: list[dict] = field(default_factory=list)


def prepare(instance: Path, scale: str, rounds: int, org_entries: int) -> Fixture:
    """Write into the working copy what the loads need, through the app's own services."""
    from sqlalchemy import func, insert

    from volunteer_registry import create_app
    from volunteer_registry.accounts.services import create_account, create_api_token
    from volunteer_registry.activities.models import Signup
    from volunteer_registry.activities.services import ActivityData, create_activity, publish_activity
    from volunteer_registry.certificates.services import issue_certificate
    from volunteer_registry.certificates.tokens import token_url
    from volunteer_registry.checkin.services import ScanRequest, record_scan
    from volunteer_registry.extensions import db
    from volunteer_registry.ledger.models import LedgerState
    from volunteer_registry.models import utcnow
    from volunteer_registry.organizations.models import Membership, Organization, StaffRole
    from volunteer_registry.volunteers.models import Volunteer

    fixture = Fixture(scale=scale, files=instance / "bench")
    fixture.files.mkdir(exist_ok=True)
    app = create_app({"PUBLIC_URL": PUBLIC_URL}, instance_path=str(instance))
    with app.app_context():
        approved = LedgerState.status == "approved"
        # the busiest organization: the check-in, verification and issuing loads happen there
        busiest = db.session.execute(db.select(LedgerState.organization_id, func.count()).where(approved)
                                     .group_by(LedgerState.organization_id).order_by(func.count().desc())
                                     .limit(1)).one()[0]
        org = db.session.get(Organization, busiest)
        admin = db.session.get(StaffRole, db.session.scalar(db.select(StaffRole.id).where(
            StaffRole.organization_id == org.id, StaffRole.role == "admin").order_by(StaffRole.id).limit(1))).user
        admin.display_name = admin.display_name or "马晓东"  # the handler printed on the certificates it issues
        coordinator = create_account(f"bench-coordinator-{scale}@example.org", PASSWORD)
        db.session.add(StaffRole(organization_id=org.id, user_id=coordinator.id, role="coordinator"))
        _token, fixture.token = create_api_token(coordinator, "bench scanner")
        now = utcnow().replace(microsecond=0)
        activity = create_activity(admin, org, ActivityData(
            title="社区服务站值班 (bench)", category="community", recipient="社区居民", region_code=org.region_code,
            address=org.address, person_in_charge=org.person_in_charge, starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=6), capacity=None, grace_minutes=30))
        publish_activity(admin, activity)
        members = db.session.execute(db.select(Volunteer.volunteer_number, Volunteer.id).join(
            Membership, Membership.volunteer_id == Volunteer.id).where(Membership.organization_id == org.id)
            .order_by(Volunteer.id).limit(SCANNED_VOLUNTEERS)).all()
        db.session.execute(insert(Signup), [{"activity_id": activity.id, "volunteer_id": vid, "status": "accepted",
                                             "created_at": now, "decided_at": now} for _number, vid in members])
        (fixture.files / "volunteers.txt").write_text("".join(f"{number} {vid}\n" for number, vid in members))
        # every second one is already in: the load's scans are then half check-ins, half check-outs (each of
        # which records a ledger entry) at every moment, not a wave of one and then a wave of the other
        for number, _vid in members[::2]:
            record_scan(coordinator, ScanRequest(event_id=f"bench-{scale}-{number}", activity_code=activity.code,
                                                 volunteer_number=number))
        fixture.activity_code, fixture.activity_id = activity.code, activity.id
        fixture.organization_id, fixture.coordinator_id = org.id, coordinator.id

        # volunteers of that organization with exactly two approved entries there: certificates of one shape
        per_volunteer = (db.select(LedgerState.volunteer_id).where(approved, LedgerState.organization_id == org.id)
                         .group_by(LedgerState.volunteer_id).having(func.count() == 2)
                         .order_by(LedgerState.volunteer_id).limit(VERIFIED_CERTIFICATES + rounds + 6))
        certified = list(db.session.scalars(per_volunteer))
        start, end = dt.date(2000, 1, 1), dt.date.today()
        for volunteer_id in certified[:VERIFIED_CERTIFICATES]:
            certificate = issue_certificate(admin, org, db.session.get(Volunteer, volunteer_id), start, end)
            fixture.verify_paths.append(token_url("", certificate.token))
            fixture.certificate_codes.append(certificate.code)
        (fixture.files / "verify.txt").write_text("\n".join(fixture.verify_paths) + "\n")
        (fixture.files / "baseline_read.txt").write_text(
            "".join(f"/bench/baseline/certificate/{code}\n" for code in fixture.certificate_codes))
        fixture.issue_jobs = [{"actor_id": admin.id, "organization_id": org.id, "volunteer_id": volunteer_id,
                               "start": start.isoformat(), "end": end.isoformat()}
                              for volunteer_id in certified[VERIFIED_CERTIFICATES:]]

        # growth subjects: the same size at both scales
        counts = (db.select(LedgerState.volunteer_id, func.count().label("n")).where(approved)
                  .group_by(LedgerState.volunteer_id).subquery())
        volunteer_id, fixture.volunteer_entries = db.session.execute(
            db.select(counts.c.volunteer_id, counts.c.n).order_by(
                func.abs(counts.c.n - VOLUNTEER_ENTRIES), counts.c.volunteer_id).limit(1)).one()
        person = create_account(f"bench-volunteer-{scale}@example.org", PASSWORD)
        db.session.get(Volunteer, volunteer_id).user_id = person.id
        fixture.volunteer_email = person.email
        sizes = (db.select(LedgerState.organization_id, func.count().label("n")).where(approved)
                 .group_by(LedgerState.organization_id).subquery())
        dashboard_org, fixture.dashboard_entries = db.session.execute(
            db.select(sizes.c.organization_id, sizes.c.n).order_by(
                func.abs(sizes.c.n - org_entries), sizes.c.organization_id).limit(1)).one()
        fixture.dashboard_code = db.session.get(Organization, dashboard_org).code
        fixture.dashboard_admin = db.session.scalar(db.select(StaffRole).where(
            StaffRole.organization_id == dashboard_org, StaffRole.role == "admin").limit(1)).user.email
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    (fixture.files / "fixture.json").write_text(json.dumps({**vars(fixture), "files": str(fixture.files)}, indent=1))
    return fixture


# --- the server ----------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with two sync workers on 127.0.0.1, the production config, serving bench/app.py; a thread samples
    each worker's peak resident set (VmHWM) while it runs."""

    def __init__(self, instance: Path):
        self.port = free_port()
        self.log = open(instance / "bench" / "gunicorn.log", "w")  # noqa: SIM115  (closed in stop)
        env = app_env(instance, VOLUNTEER_REGISTRY_ENV="production",
                      # one client address sends every request: the per-address limits would measure themselves
                      VOLUNTEER_REGISTRY_RATELIMIT_ENABLED="false")
        self.process = subprocess.Popen(
            [BIN / "gunicorn", "--workers", "2", "--bind", f"{HOST}:{self.port}", "--timeout", "120",
             "bench.app:app"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.peak_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._wait_ready()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.log.name}")
            try:
                status, _headers, _body = self.request("GET", "/bench/baseline/certificate/none")
                if status == 404 and len(self.workers()) == 2:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log.name}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.read_peaks()

    def read_peaks(self) -> None:
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"VmHWM:\s+(\d+) kB", status)
            if found:
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), int(found.group(1)))

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 120) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def sign_in(self, identifier: str) -> str:
        """The session cookie of a signed-in user (the form, with its CSRF token, as a browser posts it)."""
        status, headers, page = self.request("GET", "/login")
        cookie = headers["set-cookie"].split(";", 1)[0]
        csrf = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
        form = f"csrf_token={csrf}&identifier={identifier}&password={PASSWORD}".encode()
        status, headers, _ = self.request("POST", "/login", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        if status != 302:
            raise SystemExit(f"signing in as {identifier} answered {status}")
        return headers["set-cookie"].split(";", 1)[0]

    def stop(self) -> None:
        self.read_peaks()
        self._stop.set()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- loads ---------------------------------------------------------------------------------------------------------

def wrk(server: Server, script: str, seconds: float, *, threads: int = THREADS, connections: int = CONNECTIONS,
        **env: str) -> dict:
    """One bounded wrk run against the server on 127.0.0.1; its figures (latencies in ms)."""
    environment = {**os.environ, "BENCH_WRK_DIR": str(BENCH / "wrk"), "BENCH_THREADS": str(threads), **env}
    run = subprocess.run(["wrk", "--threads", str(threads), "--connections", str(connections),
                          "--duration", f"{seconds}s", "--timeout", "30s", "--script", str(BENCH / "wrk" / script),
                          f"http://{HOST}:{server.port}"], env=environment, capture_output=True, text=True,
                         timeout=seconds + 60, check=True)
    line = next(line for line in run.stdout.splitlines() if line.startswith("BENCH "))
    figures = json.loads(line[len("BENCH "):])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = sum(figures[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors",
                                                  "timeouts"))
    for key in ("p50", "p90", "p99", "mean", "max"):
        figures[f"{key}_ms"] = figures.pop(f"{key}_us") / 1000
    return figures


def compare(server: Server, ours: tuple[str, dict], baseline: tuple[str, dict], seconds: float, samples: int,
            label: str) -> tuple[dict, dict]:
    """Our path and its baseline in turn (baseline first, then alternating), ``samples`` times each; the run with
    the median throughput of each, and every error counted."""
    results: dict[str, list[dict]] = {"ours": [], "baseline": []}
    order = ["baseline", "ours"]
    for sample in range(samples):
        for which in order if sample % 2 == 0 else order[::-1]:
            script, env = ours if which == "ours" else baseline
            figures = wrk(server, script, seconds, BENCH_PREFIX=f"bench{int(time.time())}{which}{sample}", **env)
            results[which].append(figures)
            say(f"  {label} {which:8} {figures['rps']:7.1f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
                f"p99 {figures['p99_ms']:6.1f} ms  errors {figures['errors']}")

    def median_run(runs: list[dict]) -> dict:
        chosen = dict(sorted(runs, key=lambda r: r["rps"])[len(runs) // 2])
        chosen["errors"] = sum(r["errors"] for r in runs)
        chosen["requests"] = sum(r["requests"] for r in runs)
        return chosen
    return median_run(results["ours"]), median_run(results["baseline"])


def page_latency(server: Server, path: str, seconds: float, cookie: str = "", accept: str = "") -> dict:
    """One client requesting one page for ``seconds`` (after a second's warm-up)."""
    paths = server_file(server, path)
    wrk(server, "get.lua", 1, threads=1, connections=1, BENCH_PATHS=paths, BENCH_COOKIE=cookie, BENCH_ACCEPT=accept)
    figures = wrk(server, "get.lua", seconds, threads=1, connections=1, BENCH_PATHS=paths, BENCH_COOKIE=cookie,
                  BENCH_ACCEPT=accept)
    if figures["errors"]:
        raise SystemExit(f"GET {path} answered errors: {figures}")
    return figures


def server_file(server: Server, *lines: str) -> str:
    path = Path(server.log.name).parent / f"paths-{hashlib.sha1('|'.join(lines).encode()).hexdigest()[:8]}.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def growth_pages(server: Server, fixture: Fixture, seconds: float) -> dict[str, dict]:
    """The three pages whose cost must not grow with the province: one client each, after a warm-up."""
    volunteer = server.sign_in(fixture.volunteer_email)
    admin = server.sign_in(fixture.dashboard_admin)
    found = {
        "volunteer_page": page_latency(server, "/", seconds, cookie=volunteer),
        "org_dashboard": page_latency(server, f"/organizations/{fixture.dashboard_code}/dashboard", seconds,
                                      cookie=admin),
        "verify": page_latency(server, fixture.verify_paths[0], seconds, accept="application/json"),
    }
    for name, figures in found.items():
        say(f"  {fixture.scale:9} {name:15} p50 {figures['p50_ms']:7.2f} ms  mean {figures['mean_ms']:7.2f} ms "
            f"({figures['requests']} requests)")
    return found


def issue_rounds(server: Server, fixture: Fixture, rounds: int) -> dict[str, list[float]]:
    """Issue certificates and render bare WeasyPrint in turn, one request at a time: the milliseconds each took
    inside the worker, and the HTTP round trips."""
    jobs = list(fixture.issue_jobs)
    if len(jobs) < rounds + 4:
        raise SystemExit(f"only {len(jobs)} volunteers to certify; {rounds + 4} needed")

    def call(path: str, body: bytes, content_type: str) -> tuple[float, dict]:
        began = time.perf_counter()
        status, _h, answer = server.request("POST", path, body, {"Content-Type": content_type})
        took = (time.perf_counter() - began) * 1000
        if status != 201:
            raise SystemExit(f"{path} answered {status}: {answer[:300]!r}")
        return took, json.loads(answer)

    def issue() -> tuple[float, dict]:
        return call("/bench/issue", json.dumps(jobs.pop()).encode(), "application/json")

    _took, first = issue()
    _status, _h, html = server.request("GET", f"/bench/certificate-html/{first['id']}")

    def render() -> tuple[float, dict]:
        return call("/bench/render", html, "text/html")

    for _ in range(3):  # warm both workers (fonts, keys, templates load on first use)
        issue()
        render()
    found: dict[str, list[float]] = {"issue": [], "bare": [], "issue_http": [], "bare_http": [],
                                     "issue_bytes": [], "bare_bytes": []}
    for round_ in range(rounds):
        for path in (("issue", "bare") if round_ % 2 == 0 else ("bare", "issue")):
            took, answer = issue() if path == "issue" else render()
            found[path].append(answer["ms"])
            found[f"{path}_http"].append(took)
            found[f"{path}_bytes"].append(answer["bytes"])
    return found


# --- the run -------------------------------------------------------------------------------------------------------

def figure(value: float, unit: str, baseline: float, ratio: float, **extra) -> dict:
    return {"value": round(value, 2), "unit": unit, "baseline": round(baseline, 2), "ratio": round(ratio, 3), **extra}


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth against a hundredth, short loads (< 3 min)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (./manage bench installs it)")
    mode = MODES["quick" if args.quick else "full"]
    large_scale, small_scale = mode["scales"]
    began, commit = time.perf_counter(), git_commit()
    CACHE.mkdir(exist_ok=True)
    large_cached, large_meta = dataset(large_scale, args.seed)
    small_cached, _small_meta = dataset(small_scale, args.seed)
    sys.path.insert(0, str(ROOT))
    os.environ["PUBLIC_URL"] = PUBLIC_URL

    say(f"{small_scale}: preparing a working copy")
    small = prepare(working_copy(small_cached, small_scale), small_scale, mode["rounds"], mode["org_entries"])
    server = Server(small.files.parent)
    try:
        say(f"{small_scale}: gunicorn on {HOST}:{server.port}, pages one client at a time")
        small_pages = growth_pages(server, small, mode["page"])
    finally:
        server.stop()

    say(f"{large_scale}: preparing a working copy")
    # the same subjects: the organization at the large scale closest in size to the one the small scale had
    large = prepare(working_copy(large_cached, large_scale), large_scale, mode["rounds"], small.dashboard_entries)
    server = Server(large.files.parent)
    try:
        say(f"{large_scale}: gunicorn on {HOST}:{server.port}, pages one client at a time")
        large_pages = growth_pages(server, large, mode["page"])
        scans = str(large.files / "volunteers.txt")
        say(f"{large_scale}: check-in, {THREADS} wrk threads × {CONNECTIONS // THREADS} connections, "
            f"{mode['load']} s a sample")
        checkin, checkin_base = compare(
            server, ("scan.lua", {"BENCH_VOLUNTEERS": scans, "BENCH_ACTIVITY": large.activity_code,
                                  "BENCH_TOKEN": large.token}),
            ("baseline_scan.lua", {"BENCH_VOLUNTEERS": scans, "BENCH_ACTIVITY_ID": str(large.activity_id),
                                   "BENCH_ORGANIZATION_ID": str(large.organization_id),
                                   "BENCH_RECORDER_ID": str(large.coordinator_id)}),
            mode["load"], mode["samples"], "check-in")
        say(f"{large_scale}: verification")
        verify, verify_base = compare(
            server, ("get.lua", {"BENCH_PATHS": str(large.files / "verify.txt"), "BENCH_ACCEPT": "application/json"}),
            ("get.lua", {"BENCH_PATHS": str(large.files / "baseline_read.txt")}),
            mode["load"], mode["samples"], "verify")
        say(f"{large_scale}: issuing against bare WeasyPrint, {mode['rounds']} rounds")
        issuing = issue_rounds(server, large, mode["rounds"])
        server.read_peaks()
    finally:
        server.stop()
    peak_mb = max(server.peak_kb.values()) / 1024
    rounds = mode["rounds"]

    def throughput(name: str, ours: dict, base: dict) -> dict:
        return figure(ours["rps"], "req/s", base["rps"], ours["rps"] / base["rps"],
                      p50_ms=round(ours["p50_ms"], 2), p99_ms=round(ours["p99_ms"], 2),
                      baseline_p50_ms=round(base["p50_ms"], 2), baseline_p99_ms=round(base["p99_ms"], 2),
                      requests=ours["requests"], errors=ours["errors"], baseline_errors=base["errors"])

    def growth(name: str, **subject) -> dict:
        big, little = large_pages[name]["p50_ms"], small_pages[name]["p50_ms"]
        return figure(big, "ms (p50)", little, big / little, scales=f"{large_scale} / {small_scale}", **subject)

    results = {
        "checkin_vs_baseline": throughput("checkin", checkin, checkin_base),
        "verify_vs_baseline": throughput("verify", verify, verify_base),
        "issue_vs_weasyprint": figure(
            statistics.median(issuing["issue"]), "ms", statistics.median(issuing["bare"]),
            statistics.median(issuing["issue"]) / statistics.median(issuing["bare"]), rounds=rounds,
            http_ms=round(statistics.median(issuing["issue_http"]), 1),
            baseline_http_ms=round(statistics.median(issuing["bare_http"]), 1),
            pdf_bytes=issuing["issue_bytes"][-1], baseline_pdf_bytes=issuing["bare_bytes"][-1]),
        "growth_volunteer_page": growth("volunteer_page", subject_entries=[large.volunteer_entries,
                                                                           small.volunteer_entries]),
        "growth_org_dashboard": growth("org_dashboard", subject_entries=[large.dashboard_entries,
                                                                         small.dashboard_entries]),
        "growth_verify": growth("verify"),
        "worker_peak_rss_mb": figure(peak_mb, "MiB", 300, peak_mb / 300, workers=len(server.peak_kb)),
    }
    if large_scale == "province":
        seconds = large_meta["seed_seconds"]
        results["province_seed_seconds"] = figure(seconds, "s", 600, seconds / 600, built=large_meta["built"])
    for name, entry in results.items():
        target, direction = TARGETS[name]
        entry["target"] = f"{'≥' if direction == 'min' else '≤'} {target}"
        entry["met"] = entry["ratio"] >= target if direction == "min" else entry["ratio"] <= target
    load = os.getloadavg()
    results["_run"] = {"commit": commit, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                       "mode": "quick" if args.quick else "full", "scales": f"{large_scale} / {small_scale}",
                       "seconds": round(time.perf_counter() - began), "cpus": os.cpu_count(),
                       "python": platform.python_version(), "load_average_after": [round(x, 2) for x in load]}
    out = BENCH / ("results-quick.json" if args.quick else "results.json")
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(results)
    say(f"wrote {out.relative_to(ROOT)} in {results['_run']['seconds']} s")


def print_table(results: dict) -> None:
    print()
    print(f"{'figure':24} {'value':>12} {'baseline':>12} {'unit':>9} {'ratio':>7}  target  met")
    for name, entry in results.items():
        if name.startswith("_"):
            continue
        print(f"{name:24} {entry['value']:12.2f} {entry['baseline']:12.2f} {entry['unit']:>9} "
              f"{entry['ratio']:7.3f}  {entry['target']:6}  {'yes' if entry['met'] else 'NO'}")
    for name in ("checkin_vs_baseline", "verify_vs_baseline"):
        entry = results[name]
        print(f"  {name}: p50 {entry['p50_ms']} ms, p99 {entry['p99_ms']} ms (baseline {entry['baseline_p50_ms']} / "
              f"{entry['baseline_p99_ms']} ms), {entry['requests']} requests, {entry['errors']} errors")
    print(f"  commit {results['_run']['commit']}, {results['_run']['mode']} mode, {results['_run']['scales']}")


if __name__ == "__main__":
    main()
