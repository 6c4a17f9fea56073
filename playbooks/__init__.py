"""Playbooks: YAML definitions and the pure scoring engine. No I/O beyond reading YAML text handed in
by the loader, and no connector imports: the engine is a function of (playbook, account facts, now)."""
