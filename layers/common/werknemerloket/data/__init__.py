"""Data access: the only package that imports PynamoDB. Table names come from the settings."""
