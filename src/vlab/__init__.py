"""vlab — a validation lab for AI-agent runs.

Stages, each a module with one job, data flowing one way:
pack reading (``vlab.pack``) -> admission (``vlab.admission``) -> ruleset loading
(``vlab.ruleset``) -> evaluation (``vlab.evaluation``) -> ruling (``vlab.ruling``)
-> rendering (``vlab.render``).
"""

__version__ = "0.1.0"
