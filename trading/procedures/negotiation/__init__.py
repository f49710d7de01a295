"""竞争性谈判 (财政部令74号): rounds as data, sealed round quotes, the final offer. Importing the
package registers its stage machine (rules.py)."""

from . import rules  # noqa: F401  (registers the machine)
