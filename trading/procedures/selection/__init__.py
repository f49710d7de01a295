"""比选 (engineering comparison selection, Sichuan practice): its stage machine (rules.py).
Imports core, reference, procedures.common."""
