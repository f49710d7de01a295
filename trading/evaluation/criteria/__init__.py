"""A lot's evaluation criteria (评分细则): rules (pure), model, services, owner page and JSON API."""
