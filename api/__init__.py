"""The JSON API (/api/v1/): the same services as the pages, the same rules, the same error codes."""
