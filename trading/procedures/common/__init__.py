"""What every procedure shares: notices (公告 chain) and their statutory period checks.
Imports core, audit, reference, accounts, projects."""
