"""Users, organisations (统一社会信用代码), roles, API tokens, two-factor. Imports core, audit, reference."""
