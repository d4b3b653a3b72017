"""Time certificate PDFs: one at a time, 10,000 into a ZIP, and WeasyPrint for comparison.

(a) sign and render one certificate, many times: median and p95;
(b) sign and render 10,000 certificates into a ZIP written as it goes, with memory sampled;
(c) the same certificate as an HTML page rendered by WeasyPrint, to justify reportlab;
(d) the first certificate in a process, then the first name in each script that needs a font
    of its own (shaped), then one more of each;
(e) the offline check (signature, then the page drawn again and compared object by object).
Each certificate has its own code, QR code and holder; about one name in six has letters
outside ASCII, so the font-subset cache is exercised as it would be in real use.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import statistics
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import reportlab
import segno

from elearn.certificates import codes, pdf, signing
from elearn.certificates.check import check_pdf
from elearn.certificates.data import CertificateData, ModuleRecord
from elearn.certificates.signing import PublishedKey

VERA = Path(reportlab.__file__).parent / "fonts"
FIRST = ["Amira", "Ben", "Chloe", "Daniel", "Siobhán", "Grace", "Kwame", "Zoë", "Oliver", "Priya"]
LAST = [
    "Patel",
    "O’Connor-Whitfield",
    "Smith",
    "Nowak",
    "Jones",
    "Ó Súilleabháin",
    "Khan",
    "Hughes",
]
PARTNERS = (
    "Nottingham and Nottinghamshire Violence Reduction Partnership",
    "Leicestershire Violence Reduction Network",
)
MODULES = (
    ModuleRecord("understanding-trauma", "Understanding trauma", "2"),
    ModuleRecord("aces-and-resilience", "ACEs and resilience", "3"),
    ModuleRecord("six-principles", "The six principles", "1"),
    ModuleRecord("avoiding-retraumatisation", "Avoiding re-traumatisation", "1"),
    ModuleRecord("child-first-youth-justice", "Child First youth justice", "2"),
    ModuleRecord("trauma-informed-assessment-and-planning", "Assessment and planning", "1"),
)


def certificate(number: int) -> CertificateData:
    """The number-th certificate of a run: a new code and one of 80 holders."""
    code = codes.new_code()
    return CertificateData(
        code=code,
        holder_name=f"{FIRST[number % len(FIRST)]} {LAST[number // len(FIRST) % len(LAST)]}",
        course_id="trauma-informed-practice",
        course_title="Trauma-informed practice",
        track_id="youth-justice",
        track_title="Trauma-informed practice for youth justice",
        modules=MODULES,
        completed_on=dt.date(2026, 11, 24),
        issued_at=dt.datetime(2026, 11, 24, 16, 5, tzinfo=dt.UTC),
        cpd_minutes=330,
        nes_level="Trauma-informed",
        issuer_id="nottinghamshire",
        issuer_name=PARTNERS[0],
        partners=PARTNERS,
        verify_url=f"https://learning.example.org.uk/verify/{code}",
    )


def memory_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def one_at_a_time(runs: int) -> None:
    key = signing.load_private_key(signing.generate_private_key_text())
    for number in range(20):  # warm up: fonts loaded, subsets cached
        data = certificate(number)
        pdf.render(data, signing.sign(data, key))
    times = []
    for number in range(runs):
        data = certificate(number)
        start = time.perf_counter()
        pdf.render(data, signing.sign(data, key))
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"(a) sign + render, {runs} runs: median {statistics.median(times):.2f} ms, "
        f"p95 {percentile(times, 0.95):.2f} ms  (target: under 5 ms)"
    )


def into_a_zip(count: int, folder: Path) -> None:
    key = signing.load_private_key(signing.generate_private_key_text())
    target = folder / "certificates.zip"
    rss_start, peak_start = memory_kib("VmRSS"), memory_kib("VmHWM")
    rss_samples = []
    start = time.perf_counter()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for number in range(count):
            data = certificate(number)
            archive.writestr(f"{data.code}.pdf", pdf.render(data, signing.sign(data, key)))
            if number % 500 == 0:
                rss_samples.append(memory_kib("VmRSS"))
    elapsed = time.perf_counter() - start
    size = target.stat().st_size
    print(
        f"(b) {count:,} certificates into a {size / 1e6:,.0f} MB ZIP: {elapsed:.1f} s "
        f"({elapsed / count * 1000:.2f} ms each; target: under 60 s)"
    )
    print(
        f"    resident memory: {rss_start / 1024:.0f} MiB before, "
        f"{min(rss_samples) / 1024:.0f} - {max(rss_samples) / 1024:.0f} MiB during, "
        f"{memory_kib('VmRSS') / 1024:.0f} MiB after; peak (VmHWM) "
        f"{peak_start / 1024:.0f} MiB before, {memory_kib('VmHWM') / 1024:.0f} MiB after"
    )


CSS = """
@font-face { font-family: Cert; src: url("{regular}"); }
@font-face { font-family: Cert; font-weight: bold; src: url("{bold}"); }
@font-face { font-family: Cert; font-style: italic; src: url("{italic}"); }
@page { size: A4 landscape; margin: 0; }
body { font-family: Cert; color: #1f2a33; margin: 0; }
.frame { position: absolute; inset: 22pt; border: 1.6pt solid #2f6b6b; }
.inner { position: absolute; inset: 6pt; border: 0.6pt solid #b3925c; }
main { text-align: center; padding-top: 120pt; }
h1 { font-size: 11pt; color: #2f6b6b; margin: 0 0 12pt; }
.lead { font-style: italic; color: #5a6670; font-size: 12pt; margin: 6pt; }
.name { font-weight: bold; font-size: 30pt; margin: 6pt; }
.course { font-size: 20pt; color: #2f6b6b; margin: 4pt; }
.small { font-size: 8pt; color: #5a6670; margin: 10pt 90pt; }
footer { position: absolute; left: 70pt; right: 70pt; bottom: 52pt; }
.code { font-weight: bold; font-size: 18pt; }
.qr { position: absolute; right: 0; bottom: 0; width: 85pt; }
"""


def as_html(data: CertificateData) -> str:
    """The certificate's content as an HTML page laid out like the reportlab one."""
    e = html.escape
    qr = segno.make(data.verify_url, error="m", micro=False).svg_data_uri(border=0)
    modules = " · ".join(f"{m.title} (version {m.version})" for m in data.modules)
    css = CSS
    for name, file in (("regular", "Vera"), ("bold", "VeraBd"), ("italic", "VeraIt")):
        css = css.replace("{" + name + "}", (VERA / f"{file}.ttf").as_uri())
    return f"""<!doctype html><html lang="en-GB"><head><meta charset="utf-8">
<title>Certificate: {e(data.holder_name)}</title><style>{css}</style></head><body>
<div class="frame"><div class="inner"></div></div>
<main><h1>CERTIFICATE OF COMPLETION</h1><p class="lead">This is to certify that</p>
<p class="name">{e(data.holder_name)}</p><p class="lead">has completed</p>
<p class="course">{e(data.course_title)}</p><p>Track: {e(data.track_title)}</p>
<p>Completed on {pdf.date_text(data.completed_on)} · {pdf.cpd_text(data.cpd_minutes)}</p>
<p class="small">Modules completed: {e(modules)}</p>
<p>Awarded jointly by {e(" and ".join(data.partners))}</p></main>
<footer><div>Verification code</div><div class="code">{e(data.code)}</div>
<div>To check this certificate, scan the QR code or visit<br>{e(data.verify_url)}</div>
<img class="qr" src="{qr}" alt="QR code"></footer></body></html>"""


def weasyprint(runs: int) -> None:
    try:
        from weasyprint import HTML
    except ImportError:
        print("(c) WeasyPrint is not installed: pip install -e '.[bench]'")
        return
    HTML(string=as_html(certificate(0))).write_pdf()  # warm up: fonts and CSS machinery
    times = []
    for number in range(runs):
        page = as_html(certificate(number))
        start = time.perf_counter()
        HTML(string=page).write_pdf()
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"(c) WeasyPrint, the same content as HTML, {runs} runs: "
        f"median {statistics.median(times):.0f} ms, p95 {percentile(times, 0.95):.0f} ms"
    )


SCRIPT_NAMES = {
    "Gujarati": "પ્રિયા પટેલ",
    "Arabic": "ليلى حداد",
    "Devanagari": "अनीता शर्मा",
    "Chinese": "王小明",
    "Amharic": "ሰላም ተስፋዬ",
}


def first_in_each_script() -> None:
    key = signing.load_private_key(signing.generate_private_key_text())
    start = time.perf_counter()
    data = certificate(0)
    pdf.render(data, signing.sign(data, key))
    print(f"(d) first certificate in this process: {(time.perf_counter() - start) * 1000:.0f} ms")
    for script, name in SCRIPT_NAMES.items():
        timings = []
        for _ in range(2):
            data = replace(certificate(1), holder_name=name)
            start = time.perf_counter()
            pdf.render(data, signing.sign(data, key))
            timings.append((time.perf_counter() - start) * 1000)
        print(f"    first {script} name {timings[0]:.0f} ms, the next {timings[1]:.1f} ms")


def offline_check(runs: int) -> None:
    key = signing.load_private_key(signing.generate_private_key_text())
    public = key.public_key()
    keys = {signing.key_id(public): PublishedKey("nottinghamshire", PARTNERS[0], public)}
    files = []
    for number in range(runs):
        data = certificate(number)
        files.append(pdf.render(data, signing.sign(data, key)))
    check_pdf(files[0], keys)  # warm up
    times = []
    for file in files:
        start = time.perf_counter()
        result = check_pdf(file, keys)
        times.append((time.perf_counter() - start) * 1000)
        assert result.ok, result.problems
    print(
        f"(e) offline check, {runs} certificates: median {statistics.median(times):.1f} ms, "
        f"p95 {percentile(times, 0.95):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="certificates for (a)")
    parser.add_argument("--count", type=int, default=10_000, help="certificates for (b)")
    parser.add_argument("--weasyprint-runs", type=int, default=30, help="pages for (c)")
    parser.add_argument("--check-runs", type=int, default=200, help="certificates for (e)")
    args = parser.parse_args()
    first_in_each_script()
    one_at_a_time(args.runs)
    with tempfile.TemporaryDirectory() as folder:
        into_a_zip(args.count, Path(folder))
    weasyprint(args.weasyprint_runs)
    offline_check(args.check_runs)


if __name__ == "__main__":
    main()
