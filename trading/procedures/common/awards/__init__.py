"""Awards (定标/成交): candidates, publicity, objections, result, award letters, contract record."""
