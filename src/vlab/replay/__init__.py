"""Replays: recompute a run's budget decisions from its own evidence, streamed in one pass.

Pure functions over iterables of ``(line, record)``; they never open files. The built-ins
that rulesets call (``vlab.builtins``) feed them from the pack reader.
"""
