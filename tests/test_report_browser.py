"""The run report as a browser shows and prints it: A4 pages and a 390 px wide phone screen.

Debian's chromium through Playwright (no browser is downloaded). The printed PDF is read
here with a small reader of the PDFs chromium writes (pages, their text through each font's
ToUnicode map, and the images each page draws), so no PDF package is needed.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from care_demand.outputs.layout import LAYOUT

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason=f"needs Debian's chromium at {CHROMIUM}"
)


# ------------------------------------------------------------------ a small PDF reader
class Pdf:
    """The pages of a PDF written by chromium: each page's text and images drawn."""

    def __init__(self, data: bytes) -> None:
        self.objects = {
            int(m.group(1)): m.group(2)
            for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)\s*endobj", data, re.S)
        }
        self._maps: dict[int, dict[int, str]] = {}

    def _dict(self, number: int) -> bytes:
        return self.objects[number].split(b"stream", 1)[0]

    def _stream(self, number: int) -> bytes:
        body = self.objects[number]
        raw = body.split(b"stream", 1)[1].lstrip(b"\r\n").rsplit(b"endstream", 1)[0]
        return zlib.decompress(raw) if b"/FlateDecode" in self._dict(number) else raw

    def _ref(self, body: bytes, key: bytes) -> int | None:
        found = re.search(rb"/" + key + rb"\s+(\d+) 0 R", body)
        return int(found.group(1)) if found else None

    def page_numbers(self) -> list[int]:
        """The page objects, in the order of the page tree."""
        root = next(
            n
            for n, b in self.objects.items()
            if re.search(rb"/Type\s*/Pages", b) and b"/Parent" not in self._dict(n)
        )

        def walk(number: int) -> Iterator[int]:
            body = self._dict(number)
            if re.search(rb"/Type\s*/Pages", body):
                kids = re.search(rb"/Kids\s*\[(.*?)\]", body, re.S).group(1)
                for kid in re.findall(rb"(\d+) 0 R", kids):
                    yield from walk(int(kid))
            else:
                yield number

        return list(walk(root))

    def _resources(self, page: int) -> bytes:
        body = self._dict(page)
        number = self._ref(body, b"Resources")
        return self._dict(number) if number is not None else body

    def _named(self, resources: bytes, kind: bytes) -> dict[bytes, int]:
        """``/Font`` or ``/XObject``: resource name -> object number."""
        found = re.search(rb"/" + kind + rb"\s*<<(.*?)>>", resources, re.S)
        if not found:
            number = self._ref(resources, kind)
            if number is None:
                return {}
            found = re.search(rb"<<(.*?)>>", self._dict(number), re.S)
        return {k: int(v) for k, v in re.findall(rb"/(\S+?)\s+(\d+) 0 R", found.group(1))}

    def _unicode(self, font: int) -> dict[int, str]:
        """A font's glyph code -> text, from its ToUnicode map."""
        if font not in self._maps:
            mapping: dict[int, str] = {}
            number = self._ref(self._dict(font), b"ToUnicode")
            cmap = self._stream(number).decode("latin-1") if number else ""
            for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
                for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                    mapping[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
            for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
                for lo, hi, dst in re.findall(
                    r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
                ):
                    start = int(dst, 16)
                    for code in range(int(lo, 16), int(hi, 16) + 1):
                        mapping[code] = chr(start + code - int(lo, 16))
            self._maps[font] = mapping
        return self._maps[font]

    def page(self, page: int) -> tuple[str, int]:
        """The page's text and the number of images it draws."""
        body = self._dict(page)
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", body).group(1)
        ops = b"".join(self._stream(int(n)) for n in re.findall(rb"(\d+) 0 R", contents))
        resources = self._resources(page)
        fonts = self._named(resources, b"Font")
        images = {
            name
            for name, number in self._named(resources, b"XObject").items()
            if b"/Image" in self._dict(number)
        }
        text, drawn, mapping = [], 0, {}
        token = rb"/(\S+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj|/(\S+)\s+Do|\bET\b"
        for m in re.finditer(token, ops, re.S):
            if m.group(1):
                mapping = self._unicode(fonts[m.group(1)]) if m.group(1) in fonts else {}
            elif m.group(4):
                drawn += m.group(4) in images
            elif m.group(0) == b"ET":
                text.append("\n")
            else:
                hexes = re.findall(rb"<([0-9A-Fa-f]*)>", m.group(2) or b"") or [m.group(3)]
                for chunk in hexes:
                    for i in range(0, len(chunk), 4):
                        text.append(mapping.get(int(chunk[i : i + 4], 16), "?"))
        return "".join(text), drawn


# ------------------------------------------------------------------ the browser
@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def printed(browser, report_run: Path) -> tuple[Pdf, list[tuple[str, int]], int]:  # type: ignore[no-untyped-def]
    """The report printed to A4: the PDF, each page's (text, images) and the <h2> count."""
    page = browser.new_page()
    page.goto((report_run / LAYOUT.report).as_uri())
    sections = page.locator("h2").count()
    data = page.pdf(format="A4")
    page.close()
    pdf = Pdf(data)
    return pdf, [pdf.page(n) for n in pdf.page_numbers()], sections


def _flat(text: str) -> str:
    """The text with its runs of white space (between drawn pieces) as single spaces."""
    return " ".join(text.split())


def _words(text: str) -> int:
    """Words on the page, besides its page number."""
    return len(re.findall(r"[A-Za-z0-9£%]+", re.sub(r"Page \d+ of \d+", "", _flat(text))))


def test_the_printed_report_has_no_more_pages_than_sections_and_none_nearly_empty(
    printed: tuple[Pdf, list[tuple[str, int]], int],
) -> None:
    _, pages, sections = printed
    assert sections >= 5
    assert 1 <= len(pages) <= sections + 1, f"{len(pages)} A4 pages for {sections} sections"
    for number, (text, images) in enumerate(pages, start=1):
        # A page carries a chart, or at least a few lines of text.
        assert images or _words(text) >= 40, f"page {number} is nearly empty: {text[:200]!r}"
    # The report's own words are on the page (the text map is read right).
    assert "Children in care" in "".join(text for text, _ in pages)


def test_every_printed_page_is_numbered_as_the_css_promises(
    printed: tuple[Pdf, list[tuple[str, int]], int], report_run: Path
) -> None:
    css = (report_run / LAYOUT.report).read_text(encoding="utf-8")
    assert re.search(r"@page\s*\{[^}]*@bottom-right\s*\{[^}]*counter\(page\)", css)
    _, pages, _ = printed
    for number, (text, _) in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in _flat(text), f"page {number} has no number"


def test_the_report_reads_on_a_390_px_phone_without_sideways_scrolling(
    browser,  # type: ignore[no-untyped-def]
    report_run: Path,
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto((report_run / LAYOUT.report).as_uri())
    page.wait_for_load_state("load")
    page_width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert inner == PHONE["width"]
    assert page_width <= inner, f"the page is {page_width} px wide on a {inner} px screen"
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('figure img'))"
        ".map(img => img.getBoundingClientRect().width)"
    )
    assert widths and all(0 < w <= inner for w in widths), widths
    # Every image is within the screen, not pushed off its right edge.
    rights = page.evaluate(
        "Array.from(document.querySelectorAll('img')).map(i => i.getBoundingClientRect().right)"
    )
    assert all(r <= inner for r in rights), rights
    # Wide tables scroll inside their own box; their box stays within the screen.
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('.table-wrap'))"
        ".map(b => [b.getBoundingClientRect().right, getComputedStyle(b).overflowX])"
    )
    assert boxes and all(right <= inner and overflow == "auto" for right, overflow in boxes)
    page.close()


def test_the_pictures_in_the_docs_show_the_report_as_printed_and_on_a_phone() -> None:
    """docs/outputs.md shows the report's first page at 390 px and its first printed page."""
    from PIL import Image

    docs = (DOCS_IMAGES.parent / "outputs.md").read_text(encoding="utf-8")
    for name, (low, high) in {
        "report_mobile.png": ((380, 400), (700, 2000)),
        "report_print_page1.png": ((500, 1300), (700, 1800)),
    }.items():
        assert f"images/{name}" in docs
        with Image.open(DOCS_IMAGES / name) as image:
            width, height = image.size
        assert low[0] <= width <= low[1] and high[0] <= height <= high[1], (name, image.size)
        assert (DOCS_IMAGES / name).stat().st_size < 400_000
