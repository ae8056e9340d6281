"""Ruleset loading: YAML files -> checked, resolved, digested ``Ruleset`` objects."""
