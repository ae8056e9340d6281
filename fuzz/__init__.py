"""vlab's hostile-pack fuzzer: a seeded, bounded campaign over the public pipeline.

``make fuzz`` (or ``python -m fuzz``) generates hostile evidence packs (``fuzz.hostile``,
``fuzz.mutate``), judges each one in-process and samples the command line
(``fuzz.campaign``), and reports crashes, hangs and invariant failures. See README.md.
"""
