"""Pack generators: the big event log (``events``), the replay packs (``ledger``, ``matrix``,
written by a child through ``replay``) and the regress corpus of many small packs
(``corpus``)."""
