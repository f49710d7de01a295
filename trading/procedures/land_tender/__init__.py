"""招标出让 (land-use rights and mining rights granted by tender, rules.md §1 G1, H): its stage machine
and its own figures (rules.py). Everything else is the common sealed machinery: the notice, the
deposits (the land floor), the sealed offers, the opening, the panel and its scoring (the
`highest_price` or `comprehensive` method), the award. Its own: the parcel (services.py) and the
owner's sealed reserve price (reserve.py: sealed to the lot's opening key, opened with the offers by an
opening hook, binding under `highest_price`).

Imports core, reference, procedures.common."""
