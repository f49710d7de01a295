"""Participation in a lot: registration (报名), tender-document downloads (private to the platform),
sealed-offer uploads (chunked, resumable), signed receipts, replace and withdraw, and the secrecy of
all of it before the deadline (招标投标法 Art. 22)."""
