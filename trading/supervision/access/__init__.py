"""Supervisors' own access log (谁查看了什么): every record a supervisor reads, append-only."""
