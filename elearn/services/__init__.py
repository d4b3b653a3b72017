"""The rules of the platform: plain functions taking a session and keyword-only arguments."""
