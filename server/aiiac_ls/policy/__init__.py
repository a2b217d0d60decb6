"""Custom rules written by the user: Rego policies and YAML rules, loaded only from files the
configuration names (`policies = [...]`). Nothing from the workspace is ever executed: Rego runs
in regopy's interpreter and YAML rules are data.

Both see each resource as the same versioned JSON document (`documents.py`) and report an
attribute path; the engine locates, suppresses and reports their findings like built-in ones.
"""
