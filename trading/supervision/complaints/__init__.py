"""Complaints (投诉) with their statutory clocks: rules (pure), models, services, views."""
