"""询价 (goods, 财政部令74号): its stage machine (rules.py).
Imports core, reference, procedures.common."""
