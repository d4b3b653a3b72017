"""Names in the scripts of the people who take the course print, shaped, and read back."""

from __future__ import annotations

import io
import unicodedata

import pymupdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from elearn.certificates import pdf, shaping, signing
from elearn.certificates.check import check_pdf
from elearn.certificates.signing import PublishedKey

from .conftest import LEICS, make_data

NAMES = {
    "Polish": "Paweł Kraśnicki-Woźniak",
    "Romanian": "Ștefan Țărănescu",
    "Welsh": "Llŷr Gwŵn ap Dafydd",
    "Irish": "Siobhán Ní Bhriain",
    "Turkish": "Işıl Gökçe Çağlar Şahin",
    "Vietnamese": "Nguyễn Thị Minh Khai",
    "Greek": "Γιώργος Παπαδόπουλος",
    "Cyrillic": "Олена Шевченко",
    "Gujarati": "ભાવેશ પટેલ",
    "Gurmukhi": "ਹਰਪ੍ਰੀਤ ਕੌਰ ਸਿੰਘ",
    "Devanagari": "प्रियंका शर्मा क्षत्रिय",
    "Bengali": "রবীন্দ্রনাথ ঠাকুর",
    "Tamil": "ஸ்ரீநிவாச ராமானுஜன்",
    "Urdu": "عمران خان نیازی",
    "Arabic": "فاطمة الزهراء",
    "Chinese": "王秀英 张伟",
    "Amharic": "አበበ ቢቂላ",
    "Tigrinya": "ሰላም ገብረሚካኤል",
    "Arabic with Latin": "Fatima فاطمة Khan",
}


NAME_BASELINE = 212  # points from the top of the page


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def rendered(name: str, key: Ed25519PrivateKey) -> bytes:
    data = make_data(holder_name=name)
    return pdf.render(data, signing.sign(data, key))


@pytest.fixture(scope="module")
def certificates(private_key: Ed25519PrivateKey) -> dict[str, bytes]:
    """A certificate for each name, rendered once for all the tests here."""
    return {script: rendered(name, private_key) for script, name in NAMES.items()}


@pytest.fixture(scope="module")
def trusted(private_key: Ed25519PrivateKey) -> dict[str, PublishedKey]:
    """The published key of the partnership that issues the certificates."""
    return signing.trusted_keys([PublishedKey("leicestershire", LEICS, private_key.public_key())])


def page_lines(document: bytes) -> list[str]:
    text = PdfReader(io.BytesIO(document)).pages[0].extract_text()
    return [nfc(line.strip()) for line in text.splitlines()]


@pytest.mark.parametrize("script", NAMES)
def test_the_name_prints_and_reads_back_as_written(
    script: str, certificates: dict[str, bytes], trusted: dict[str, PublishedKey]
) -> None:
    name = NAMES[script]
    assert pdf.unsupported_characters(name) == ""
    assert nfc(name) in page_lines(certificates[script])
    result = check_pdf(certificates[script], trusted)
    assert result.ok, result.problems


@pytest.mark.parametrize("script", NAMES)
def test_no_glyph_is_an_empty_box(script: str) -> None:
    line = shaping.shape(nfc(NAMES[script]), pdf._shaping_font(pdf.BOLD))
    assert all(glyph.gid != 0 for cluster in line.clusters for glyph in cluster.glyphs)


def test_conjuncts_and_joined_letters_are_shaped() -> None:
    bold = pdf._shaping_font(pdf.BOLD)
    # Devanagari ksha (k, virama, ssa) is one conjunct glyph, not three letters.
    ksha = shaping.shape("क्ष", bold)
    assert sum(len(cluster.glyphs) for cluster in ksha.clusters) == 1
    # Arabic letters join: feh at the start of a word is not the feh standing alone.
    alone = shaping.shape("ف", bold).clusters[0].glyphs[0].gid
    joined = shaping.shape("فاطمة", bold).clusters[0].glyphs[0].gid
    assert joined != alone


def name_characters(document: bytes, wanted: set[str]) -> list[tuple[str, float]]:
    """The characters of the name line in the given set, with where each is drawn across."""
    page = pymupdf.open(stream=document, filetype="pdf")[0]
    found = []
    for block in page.get_text("rawdict")["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                found += [
                    (c["c"], c["origin"][0])
                    for c in span["chars"]
                    if c["c"] in wanted and abs(c["origin"][1] - NAME_BASELINE) < 2
                ]
    return found


def test_a_right_to_left_name_runs_from_right_to_left(certificates: dict[str, bytes]) -> None:
    where = dict(name_characters(certificates["Arabic"], {"ف", "ة", "ء"}))
    # فاطمة الزهراء: the first letter is at the right, the last at the left.
    assert where["ف"] > where["ة"] > where["ء"]
    assert page_lines(certificates["Arabic"]).count("فاطمة الزهراء") == 1


def test_a_name_mixing_directions_keeps_each_part_in_place(
    certificates: dict[str, bytes],
) -> None:
    where = dict(name_characters(certificates["Arabic with Latin"], {"F", "ف", "ة", "K"}))
    assert where["F"] < where["ة"] < where["ف"] < where["K"]


@pytest.mark.parametrize(
    ("name", "undrawable"),
    [
        ("Anna \ue000 Smith", "\ue000"),
        ("Sam 🧕", "🧕"),
        ("ভাবেশ \U0010fffd", "\U0010fffd"),
        ("𓀀 Nefer", "𓀀"),
    ],
)
def test_a_character_no_font_has_is_reported(name: str, undrawable: str) -> None:
    assert pdf.unsupported_characters(name) == undrawable


def test_the_same_name_always_gives_the_same_bytes(private_key: Ed25519PrivateKey) -> None:
    data = make_data(holder_name=NAMES["Gujarati"])
    signed = signing.sign(data, private_key)
    first = pdf.render(data, signed)
    rendered(NAMES["Urdu"] + " " + NAMES["Chinese"], private_key)
    assert pdf.render(data, signed) == first


def test_a_name_in_a_fallback_script_keeps_the_file_small(
    certificates: dict[str, bytes],
) -> None:
    # Only the glyphs drawn are embedded, even from the Chinese font of 6,763 characters.
    assert len(certificates["Chinese"]) < 120_000


def test_a_long_name_in_a_shaped_script_fits_inside_the_border(
    private_key: Ed25519PrivateKey,
) -> None:
    name = " ".join([NAMES["Tamil"], NAMES["Devanagari"], NAMES["Arabic"], NAMES["Bengali"]])
    document = rendered(name, private_key)
    assert nfc(name) in page_lines(document)
    across = [x for _, x in name_characters(document, set(name) - {" "})]
    assert across and min(across) > 29 and max(across) < 842 - 29 - 20
