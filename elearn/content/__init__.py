"""The course format: schema, loader with line numbers, and the served catalogue."""
