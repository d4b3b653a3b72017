"""Write the certificates of the current drawing that test_drawings.py keeps checking.

Run once when a new drawing is added (never to refresh an existing drawing's files):
    .venv/bin/python -m tests.certificates.drawings.make
It signs them with a key made for the purpose and thrown away; only its public half is kept.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from elearn.certificates import pdf, signing
from tests.certificates.conftest import make_data

HERE = Path(__file__).resolve().parent
NAMES = {
    "latin": "Siobhán O’Connor-Whitfield",
    "gujarati": "પ્રિયા પટેલ",
    "arabic": "ليلى حداد",
}


def main() -> None:
    key = signing.load_private_key(signing.generate_private_key_text())
    folder = HERE / f"drawing-{pdf.DRAWING}"
    folder.mkdir(exist_ok=True)
    public = key.public_key()
    (folder / "public-key.txt").write_text(signing.public_key_text(public) + "\n")
    for label, name in NAMES.items():
        data = dataclasses.replace(make_data(), holder_name=name, drawing=pdf.DRAWING)
        (folder / f"{label}.pdf").write_bytes(pdf.render(data, signing.sign(data, key)))


if __name__ == "__main__":
    main()
