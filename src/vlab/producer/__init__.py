"""Producer-side primitives: code a run (or a test) uses to *emit* evidence packs."""
