"""Does every outside program the app and the tests call actually work on this machine?

``./manage`` runs this after installing, so that a missing coder, font or library is named at once, with the Debian
package that provides it, instead of by a failing test twenty minutes later. Each check does the real thing the
tests do, on a tiny input: draws a QR code and reads it back with zbarimg, lays out a page of Chinese and Tibetan
with WeasyPrint and reads it back with poppler's tools, opens a page in headless Chromium through Playwright, starts
and stops a PostgreSQL server in a temporary folder.

    .venv/bin/python tools/check_tools.py [--bench]     exit 0 when all pass, 1 (and which failed) otherwise
"""
from __future__ import annotations

import argparse
import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AXE_CORE_VERSION = "4.14.1"  # as in ./manage and tests/e2e/test_accessibility.py
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


class ToolFailed(Exception):
    """What went wrong, in a sentence a person can act on."""


@dataclass(frozen=True)
class Check:
    what: str  # what was shown to work
    packages: str  # the Debian packages (or set-up step) that provide it
    run: Callable[[Path], None]


def _run(args: list[str], timeout: int = 60, **kwargs) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None and not Path(args[0]).is_file():
        raise ToolFailed(f"{args[0]} is not installed")
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"{args[0]} did not finish within {timeout} s") from None
    if done.returncode != 0:
        stderr = done.stderr if isinstance(done.stderr, str) else done.stderr.decode(errors="replace")
        raise ToolFailed(f"{' '.join(args[:2])} exited with {done.returncode}: {stderr.strip()[-400:]}")
    return done


def check_qr(folder: Path) -> None:
    import qrcode

    text = "HTTP://REGISTRY.TEST/K/CHECK23.456"
    buffer = io.BytesIO()
    qrcode.make(text).save(buffer, format="PNG")
    (folder / "qr.png").write_bytes(buffer.getvalue())
    done = _run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(folder / "qr.png")], text=True)
    if done.stdout.strip() != text:
        raise ToolFailed(f"zbarimg read {done.stdout.strip()!r} from a QR code of {text!r}")


def check_pdf(folder: Path) -> None:
    from weasyprint import HTML

    pdf = folder / "page.pdf"
    started = time.monotonic()
    HTML(string='<html lang="zh"><body style="font-size: 40pt">'
                '<p>志愿服务证明</p><p lang="bo">དང་བླངས་ཞབས་ཞུ</p><p>Service</p></body></html>').write_pdf(pdf)
    seconds = time.monotonic() - started
    text = _run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], text=True).stdout
    if "志愿服务证明" not in text or "Service" not in text:
        raise ToolFailed(f"pdftotext gave back {text.strip()!r}, not the Chinese and Latin text laid out")
    fonts = _run(["pdffonts", str(pdf)], text=True).stdout
    for family, package in (("CJK", "fonts-noto-cjk"), ("Tibetan", "fonts-tibetan-machine")):
        if family not in fonts:
            raise ToolFailed(f"no {family} font embedded in the page: is {package} installed?\n{fonts}")
    _run(["pdftoppm", "-r", "30", "-png", "-singlefile", str(pdf), str(folder / "page")])
    if not (folder / "page.png").stat().st_size:
        raise ToolFailed("pdftoppm wrote an empty page")
    signatures = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, timeout=60)
    if "does not contain any signatures" not in signatures.stdout + signatures.stderr:
        raise ToolFailed(f"pdfsig did not read the page: {signatures.stdout}{signatures.stderr}")
    # WeasyPrint without HarfBuzz's subsetter falls back to fontTools and a certificate takes seconds, not
    # milliseconds: not wrong, but a set-up fault the tests would only show as a slow suite
    if not glob.glob("/usr/lib/*/libharfbuzz-subset.so.0"):
        raise ToolFailed(f"libharfbuzz-subset0 is missing (this page took {seconds:.1f} s)")


def check_chromium(folder: Path) -> None:
    from playwright.sync_api import Error, sync_playwright

    if not Path(CHROMIUM).is_file():
        raise ToolFailed(f"{CHROMIUM} is missing")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                                 timeout=60_000)
            try:
                page = browser.new_page()
                page.set_content("<p id=shown>志愿服务</p>")
                shown = page.inner_text("#shown")
                page.screenshot(path=str(folder / "chromium.png"))
            finally:
                browser.close()
    except Error as error:
        raise ToolFailed(f"Chromium did not start headless through Playwright: {str(error)[:400]}") from None
    if shown != "志愿服务":
        raise ToolFailed(f"Chromium showed {shown!r}")


def check_postgres(folder: Path) -> None:
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not versions:
        raise ToolFailed("no PostgreSQL server in /usr/lib/postgresql")
    bin_dir = versions[-1]
    data = Path(tempfile.mkdtemp(prefix="vr-pg-check."))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root; ./manage test runs the server as postgres too
        shutil.chown(data, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    try:
        _run(as_postgres + [f"{bin_dir}/initdb", "-D", f"{data}/data", "-U", "postgres", "-A", "trust",
                            "--no-locale", "-E", "UTF8"])
        _run(as_postgres + [f"{bin_dir}/pg_ctl", "-D", f"{data}/data", "-w", "-l", f"{data}/log",
                            "-o", f"-k {data} -c listen_addresses=''", "start"])
        try:
            answer = _run(as_postgres + [f"{bin_dir}/psql", "-h", str(data), "-U", "postgres", "-At", "-c",
                                         "SELECT 6 * 7"], text=True).stdout.strip()
        finally:
            _run(as_postgres + [f"{bin_dir}/pg_ctl", "-D", f"{data}/data", "-m", "fast", "stop"])
        if answer != "42":
            raise ToolFailed(f"PostgreSQL answered {answer!r} to SELECT 6 * 7")
        if shutil.which("pg_dump") is None:  # the backup command calls pg_dump and pg_restore from PATH
            raise ToolFailed("pg_dump is not on PATH")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def check_axe(folder: Path) -> None:
    script = ROOT / ".cache" / f"axe-core-{AXE_CORE_VERSION}" / "axe.min.js"
    if not script.is_file() or b"axe" not in script.read_bytes()[:4096]:
        raise ToolFailed(f"{script} is missing")


def check_wrk(folder: Path) -> None:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True) if shutil.which("wrk") else None
    if done is None or "wrk" not in done.stdout + done.stderr:
        raise ToolFailed("wrk is not installed")


CHECKS = [
    Check("zbarimg reads a QR code drawn by qrcode", "zbar-tools", check_qr),
    Check("WeasyPrint lays out Chinese and Tibetan; pdftotext, pdffonts, pdftoppm and pdfsig read the page",
          "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-tibetan-machine poppler-utils",
          check_pdf),
    Check("Chromium opens a page headless through Playwright", "chromium", check_chromium),
    Check("PostgreSQL starts in a temporary folder, answers and stops", "postgresql", check_postgres),
    Check(f"axe-core {AXE_CORE_VERSION} is in .cache/ for the accessibility tests", "./manage setup downloads it",
          check_axe),
]
BENCH_CHECKS = [Check("wrk runs", "wrk", check_wrk)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", action="store_true", help="also what the benchmark needs (wrk)")
    options = parser.parse_args()
    failed = []
    with tempfile.TemporaryDirectory(prefix="vr-tools.") as scratch:
        for check in CHECKS + (BENCH_CHECKS if options.bench else []):
            folder = Path(scratch) / check.run.__name__
            folder.mkdir()
            started = time.monotonic()
            try:
                check.run(folder)
            except (ToolFailed, OSError, ImportError) as error:
                failed.append(check)
                print(f"  FAILED  {check.what}\n          {error}\n          provided by: {check.packages}",
                      file=sys.stderr)
            else:
                print(f"  ok      {check.what} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of the tools the app and its tests need do not work here (see above): install the "
              "packages named, or run ./manage setup again.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
