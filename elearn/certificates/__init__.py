"""Certificates: their data, codes, signatures, PDF and offline checks. No database, no web."""
