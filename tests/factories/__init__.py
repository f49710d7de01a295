"""Test factories that read like sentences: make_org, make_user, login_as … built through the real
services, so fixtures obey the same rules as production data."""
