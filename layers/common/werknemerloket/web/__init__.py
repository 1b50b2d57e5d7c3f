"""What the HTTP handlers share: error answers, caller identity, API schemas."""
