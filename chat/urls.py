"""The chat's pages: the customer's widget (panel and public help centre) and the agents' console."""

panel_patterns: list = []
desk_patterns: list = []
public_patterns: list = []
