"""Pack reading: the only code that touches a pack's files.

Everything downstream (admission, evaluation) reads evidence through ``PackReader``;
nothing else opens a file, and nothing here ever opens a path outside the pack root.
"""
