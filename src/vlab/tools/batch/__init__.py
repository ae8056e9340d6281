"""`vlab batch`: judge a corpus of packs on an engine and write ordered JSONL results.

plan (CORPUS arguments -> ordered pack tasks) -> work (judge a chunk of packs, in a worker)
-> engines (where the chunks run: ``local`` process pool, ``dask`` distributed) -> results
(ordered JSONL, resume) -> summary (``results.summary.json``, the table).
"""
