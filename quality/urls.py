"""The quality desk's pages (workspace) and the customers' rating pages (panel and signed links)."""

desk_patterns: list = []
panel_patterns: list = []
public_patterns: list = []
