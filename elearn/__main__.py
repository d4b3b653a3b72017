"""`python -m elearn` runs the command line."""

from elearn.cli import app

app()
