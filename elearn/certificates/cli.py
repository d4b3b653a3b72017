"""Command line for certificates: make a signing key, check a certificate PDF offline."""

from __future__ import annotations

import json
import logging
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from elearn.certificates import signing
from elearn.certificates.check import check_pdf
from elearn.certificates.pdf import date_text
from elearn.config import SettingsError

SETTING = "ELEARN_SIGNING_KEYS"

app = typer.Typer(
    help="Certificates: make signing keys and check certificate PDFs offline.",
    no_args_is_help=True,
)


def public_keys_from_settings() -> dict[str, signing.PublishedKey]:
    """The public key of every partnership this installation signs for, each bound to its
    partnership: the keys in ELEARN_SIGNING_KEYS and, outside production, the ones derived
    from ELEARN_SECRET_KEY. Names come from the partnerships file where it lists them."""
    import yaml

    from elearn.config import load_settings
    from elearn.services.certificates import private_key
    from elearn.services.partnerships import SEED

    settings = load_settings()
    seed = yaml.safe_load(SEED.read_text("utf-8"))
    names = {item["id"]: item.get("name") for item in seed["partnerships"]}
    ids = set(settings.signing_keys)
    if settings.environment != "production":
        ids |= set(names)
    return signing.trusted_keys(
        signing.PublishedKey(pid, names.get(pid), private_key(settings, pid).public_key())
        for pid in sorted(ids)
    )


def _read_keys_document(source: str) -> Any:
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=15) as response:  # noqa: S310 - http(s) only
            return json.load(response)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def _public_keys(source: str | None) -> dict[str, signing.PublishedKey]:
    """The keys to check against, or exit 2 with a message saying what is wrong."""
    try:
        if source is None:
            keys = public_keys_from_settings()
        else:
            keys = signing.parse_published_keys(_read_keys_document(source))
    except (OSError, ValueError, SettingsError) as exc:
        typer.echo(f"error: cannot read the keys: {exc}", err=True)
        raise typer.Exit(2) from None
    if not keys:
        typer.echo(
            "error: no keys to check against. "
            f"Give --keys (the published keys.json) or set {SETTING}.",
            err=True,
        )
        raise typer.Exit(2)
    return keys


@app.command("keygen")
def keygen() -> None:
    """Print a new signing key for a partnership. Nothing is written to disk."""
    text = signing.generate_private_key_text()
    public_key = signing.load_private_key(text).public_key()
    typer.echo(f"private key: {text}")
    typer.echo(f"public key:  {signing.public_key_text(public_key)}")
    typer.echo(f"key id:      {signing.key_id(public_key)}")
    typer.echo("")
    typer.echo(
        f"Keep the private key secret. Put it in the environment variable {SETTING}, as JSON "
        "mapping each partnership to its key, for example:"
    )
    typer.echo(f'  {SETTING}=\'{{"nottinghamshire": "{text}"}}\'')


@app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="The certificate PDF.", metavar="FILE.pdf")],
    keys: Annotated[
        str | None,
        typer.Option(
            "--keys",
            help="The published keys (keys.json) as a file or URL. "
            f"Without it, this installation's own keys ({SETTING}) are used.",
        ),
    ] = None,
) -> None:
    """Check a certificate PDF: its signature, that the issuing partnership's own key made it,
    and that the file's pages are exactly what the signed data draws."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes are not for people
    result = check_pdf(content, _public_keys(keys))
    if not result.ok or result.data is None:
        typer.echo(f"Not a valid certificate: {file}")
        for problem in result.problems:
            typer.echo(f"  - {problem}")
        raise typer.Exit(1)
    data = result.data
    typer.echo("Valid certificate")
    typer.echo(f"  holder:    {data.holder_name}")
    typer.echo(f"  course:    {data.course_title}")
    typer.echo(f"  track:     {data.track_title}")
    typer.echo(f"  completed: {date_text(data.completed_on)}")
    typer.echo(f"  issued by: {data.issuer_name}")
    typer.echo(f"  code:      {data.code}")
    typer.echo(
        f"This check works offline. To see whether it has since been revoked: {data.verify_url}"
    )
