"""vlab — a validation lab for AI-agent runs.

Stages, each a module with one job, data flowing one way:
pack reading (``vlab.pack``) -> admission (``vlab.engine.admission``) -> ruleset loading
(``vlab.ruleset``) -> evaluation (``vlab.engine.evaluation``) -> ruling (``vlab.engine.ruling``)
-> rendering (``vlab.render.base``).
"""

__version__ = "0.1.0"
