"""The engine's words, defined once: statuses, gates and exit statuses.

Plain strings (they are what a ruling's JSON carries), named here so no module spells
them itself.
"""

from __future__ import annotations

from typing import Final

# Clause and topline statuses (adjudication.md §2).
PASS: Final = "PASS"
FAIL: Final = "FAIL"
NOT_EVALUATED: Final = "NOT_EVALUATED"
NOT_ADMISSIBLE: Final = "NOT_ADMISSIBLE"
STATUSES: Final = (PASS, FAIL, NOT_EVALUATED, NOT_ADMISSIBLE)

# Admission statuses, and the status of a gate that did not run.
ADMISSIBLE: Final = "ADMISSIBLE"
SKIPPED: Final = "SKIPPED"

# The admission gates' names; their order is the gate registry's (vlab.engine.admission).
GATE_SECURITY: Final = "ADM-GATE-SECURITY"
GATE_PIN: Final = "ADM-GATE-PIN"
GATE_INTEGRITY: Final = "ADM-GATE-INTEGRITY"
GATE_AUTHENTICITY: Final = "ADM-GATE-AUTHENTICITY"  # only with a trust policy in force
GATE_CONTRACT: Final = "ADM-GATE-CONTRACT"

# Exit statuses (adjudication.md §5).
EXIT_PASS: Final = 0
EXIT_FAIL: Final = 1
EXIT_NOT_ADMISSIBLE: Final = 2
EXIT_NOT_EVALUATED: Final = 3
EXIT_USAGE: Final = 64
EXIT_INTERNAL: Final = 70
EXIT_BY_TOPLINE: Final = {
    PASS: EXIT_PASS,
    FAIL: EXIT_FAIL,
    NOT_ADMISSIBLE: EXIT_NOT_ADMISSIBLE,
    NOT_EVALUATED: EXIT_NOT_EVALUATED,
}
