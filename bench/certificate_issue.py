"""Issuing one certificate against rendering the same HTML with bare WeasyPrint, measured in the same run.

What is measured
    issue   ``issue_certificate(admin, org, volunteer, start, end)`` then ``db.session.commit()``: the whole path an
            org admin waits for — the ledger query, the ledger entry, the COSE token, the QR size check, the HTML,
            WeasyPrint with our static-only URL fetcher and the token attached, the ``gc.collect()`` after it, the
            pyHanko signature, and the stored PDF (table certificate_documents), committed to a SQLite file.
    bare    ``weasyprint.HTML(string=html, base_url=<static folder>).write_pdf()`` of a certificate's HTML: no URL
            fetcher of ours, no attachment, no signature, no database.
    bare+gc the same, then ``gc.collect()``: for reference only, to show how much of the gap is that collection.

Why bare WeasyPrint is a fair baseline
    It is the floor: the cheapest way to get this page as a PDF at all. The HTML is exactly what the issue path
    renders (``certificate_html`` of a real issued certificate: same template, fonts, QR and stylesheet), and
    base_url points at the same static folder, so WeasyPrint's default fetcher reads from disk the stylesheet that
    our fetcher serves. The bench stops if bare WeasyPrint logs a warning: a stylesheet it could not load would
    make the baseline cheaper than it should be. Whatever issuing costs above the floor is ours.

How
    Every path is warmed up once (fonts, font-subsetting tables, imports and the signing keys load on first use),
    then the paths are measured in turn, ``--rounds`` times, the order rotating each round, so that machine noise
    and ordering effects hit them alike. Garbage is collected (untimed) before each sample so that no path pays
    for another's garbage; the issue path's own ``gc.collect()`` stays in its time, as in production. Each issue
    certifies a fresh volunteer (same name, same two activities, same minutes), so it is never refused as
    already_issued and every certificate has the same shape.

    .venv/bin/python bench/certificate_issue.py [--rounds N] [--quick] [--profile]

Prints median and p90 of each path, the ratio of the medians and the process's peak RSS, and merges the figure
``issue_vs_weasyprint`` into bench/results-certificate_issue.json (bench/run.py measures the figure of record,
in the workers). ``--profile`` also prints a cProfile (cumulative time) of one warm
issue.
"""
# ruff: noqa: E402  (the repository root goes on sys.path before the app is imported: it is not installed)
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import logging
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import weasyprint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from volunteer_registry import create_app
from volunteer_registry.accounts.services import create_account
from volunteer_registry.activities.services import ActivityData, create_activity, publish_activity
from volunteer_registry.certificates.models import CertificateDocument
from volunteer_registry.certificates.pdf import certificate_html
from volunteer_registry.certificates.services import document_data, issue_certificate, verification_url
from volunteer_registry.extensions import db
from volunteer_registry.ledger.services import decide_entries, record_missing_service
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.credit_code import credit_code_check_character
from volunteer_registry.organizations.models import Organization, StaffRole
from volunteer_registry.organizations.services import OrganizationData, apply_for_organization, decide_organization
from volunteer_registry.volunteers.identity import resident_id_check_character
from volunteer_registry.volunteers.services import VolunteerData, save_own_profile

#: its own file: bench/results.json is bench/run.py's, whose issue_vs_weasyprint is measured inside the workers
RESULTS = Path(__file__).resolve().parent / "results-certificate_issue.json"
FIGURE = "issue_vs_weasyprint"
TARGET_RATIO = 1.3
PASSWORD = "correct horse battery"
PUBLIC_URL = "https://volunteer.example.gov.cn"


# --- data to certify -----------------------------------------------------------------------------------------------

class Registry:
    """An approved organization with an org admin (who issues and approves), a coordinator (who records) and two
    past activities; volunteers with the same approved service in both. Made through the services, as users
    would."""

    def __init__(self):
        self._serial = 0
        self.admin = self._account()
        self.admin.display_name = "马晓东"  # the handler printed on the certificates
        credit_body = "51630102MJ0000001"
        self.org = apply_for_organization(self.admin, OrganizationData(
            name="西宁市城东区志愿者协会", org_type="social_group",
            credit_code=credit_body + credit_code_check_character(credit_body), region_code="630102",
            address="1 Kunlun Road", person_in_charge="马丽", contact_phone="13912345678",
            contact_email="org@example.org"))
        decide_organization(self._account(admin=True), self.org, "approve")
        self.coordinator = self._account()
        db.session.add(StaffRole(organization_id=self.org.id, user_id=self.coordinator.id, role="coordinator"))
        db.session.flush()
        now = utcnow().replace(microsecond=0)
        self.activities = [self._activity("湟水河清洁", "environment", now),
                           self._activity("社区图书角", "education", now)]

    def _account(self, *, admin: bool = False):
        self._serial += 1
        return create_account(f"bench{self._serial}@example.org", PASSWORD, is_platform_admin=admin)

    def _activity(self, title: str, category: str, now: dt.datetime):
        activity = create_activity(self.admin, self.org, ActivityData(
            title=title, category=category, recipient="Huangshui river banks", region_code="630102",
            address="Huangshui riverside park", person_in_charge="马丽", starts_at=now - dt.timedelta(days=20),
            ends_at=now + dt.timedelta(days=1)))
        publish_activity(self.admin, activity)
        return activity

    def volunteer(self):
        """A new volunteer with 3 h and 2 h 30 min of approved service, recorded by the coordinator and approved by
        the org admin (four eyes)."""
        user = self._account()
        birth = dt.date(1995, 3, 8) + dt.timedelta(days=self._serial // 500)
        body = f"630102{birth:%Y%m%d}{self._serial % 500 * 2:03d}"  # an even sequence number: female
        volunteer = save_own_profile(user, VolunteerData(
            name="卓玛", gender="female", birth_date=birth, id_type="resident_id",
            id_number=body + resident_id_check_character(body), phone="13800138000", region_code="630102",
            skills="first aid", consent=True))
        for activity, minutes, days_ago in zip(self.activities, (180, 150), (10, 5), strict=True):
            start = (utcnow() - dt.timedelta(days=days_ago)).replace(hour=2, minute=0, second=0, microsecond=0)
            entry = record_missing_service(self.coordinator, activity, volunteer.id, start,
                                           start + dt.timedelta(minutes=minutes), "paper sign-in sheet")
            decide_entries(self.admin, self.org, [entry.id], "approve")
        return volunteer


# --- the paths -----------------------------------------------------------------------------------------------------

def issue(registry: Registry, volunteer):
    """Issue for the last 30 days and commit, as the view does."""
    today = dt.date.today()
    certificate = issue_certificate(registry.admin, registry.org, volunteer, today - dt.timedelta(days=30), today)
    db.session.commit()
    return certificate


def bare(html: str, base_url: str) -> bytes:
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()


def bare_then_collect(html: str, base_url: str) -> bytes:
    pdf = bare(html, base_url)
    gc.collect()
    return pdf


def timed(function, *args) -> float:
    """Milliseconds of one call, after an untimed collection so that it starts from a clean heap."""
    gc.collect()
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def complete_bare(html: str, base_url: str) -> bytes:
    """Render bare once, refusing a baseline that lost its stylesheet or an image (WeasyPrint only logs those)."""
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        pdf = bare(html, base_url)
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        raise SystemExit("bare WeasyPrint does not render the whole page: " + "; ".join(handler.messages[:3]))
    return pdf


def profile_one_issue(registry: Registry, volunteer, limit: int = 40) -> None:
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    issue(registry, volunteer)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(limit)
    print(out.getvalue())


# --- figures -------------------------------------------------------------------------------------------------------

def median_p90(samples: list[float]) -> tuple[float, float]:
    p90 = statistics.quantiles(samples, n=10, method="inclusive")[-1] if len(samples) > 1 else samples[0]
    return statistics.median(samples), p90


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def save_figure(name: str, value: float, baseline: float, unit: str = "ms") -> None:
    """Merge one figure into bench/results-certificate_issue.json, keeping the others."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[name] = {"value": round(value, 1), "unit": unit, "baseline": round(baseline, 1),
                     "ratio": round(value / baseline, 3)}
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def measure(rounds: int, profile: bool) -> tuple[dict[str, list[float]], int, int]:
    """Samples (ms) of each path, and the sizes of the bare and the issued PDF. All in a temporary instance."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-certificate-"))
    try:
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
                          "PUBLIC_URL": PUBLIC_URL}, instance_path=str(workdir / "instance"))
        with app.app_context():
            db.create_all()
            registry = Registry()
            volunteers = [registry.volunteer() for _ in range(rounds + 1 + profile)]
            db.session.commit()
            static_base = Path(app.static_folder).resolve().as_uri() + "/"

            # warm-up; the first issue also creates the signing keys, and its HTML is the bare paths' input
            first = issue(registry, volunteers.pop())
            issued_size = len(db.session.get(CertificateDocument, first.id).pdf)
            seal = db.session.scalar(db.select(Organization.seal_png).where(Organization.id == registry.org.id))
            html = certificate_html(document_data(first), verification_url(first), seal)
            bare_size = len(complete_bare(html, static_base))
            if profile:
                profile_one_issue(registry, volunteers.pop())
            gc.freeze()  # as wsgi.py does once the app is loaded: the per-render collection walks only new objects

            paths = {"issue": lambda: timed(issue, registry, volunteers.pop()),
                     "bare": lambda: timed(bare, html, static_base),
                     "bare+gc": lambda: timed(bare_then_collect, html, static_base)}
            names = list(paths)
            samples: dict[str, list[float]] = {name: [] for name in names}
            for round_ in range(rounds):
                for name in names[round_ % 3:] + names[:round_ % 3]:
                    samples[name].append(paths[name]())
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return samples, bare_size, issued_size


def report(rounds: int, samples: dict[str, list[float]], bare_size: int, issued_size: int) -> None:
    figures = {name: median_p90(values) for name, values in samples.items()}
    labels = {"issue": "issue (render+sign+store)", "bare": "bare WeasyPrint write_pdf()",
              "bare+gc": "  for reference: bare + gc"}
    ratio = figures["issue"][0] / figures["bare"][0]
    print(f"certificate issue vs bare WeasyPrint: {rounds} rounds, order rotating, after one warm-up each")
    print(f"{'path':<30}{'median ms':>11}{'p90 ms':>9}")
    for name, (median, p90) in figures.items():
        print(f"{labels[name]:<30}{median:>11.1f}{p90:>9.1f}")
    verdict = "met" if ratio <= TARGET_RATIO else "missed"
    print(f"{'ratio issue/bare (medians)':<30}{ratio:>11.2f}   target <= {TARGET_RATIO}: {verdict}")
    print(f"{'ratio issue/(bare + gc)':<30}{figures['issue'][0] / figures['bare+gc'][0]:>11.2f}")
    print(f"peak RSS {peak_rss_mib():.0f} MiB; PDF: bare {bare_size / 1024:.0f} KiB, "
          f"issued {issued_size / 1024:.0f} KiB")
    save_figure(FIGURE, figures["issue"][0], figures["bare"][0])
    print(f"wrote {FIGURE} to {RESULTS}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="samples of each path (default 20)")
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one warm issue")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 20)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    samples, bare_size, issued_size = measure(rounds, args.profile)
    report(rounds, samples, bare_size, issued_size)


if __name__ == "__main__":
    main()
