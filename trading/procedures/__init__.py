"""Trading procedures: common parts (lots, notices, schedule) and one package per kind."""
