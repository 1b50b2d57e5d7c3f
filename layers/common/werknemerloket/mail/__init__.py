"""Mail: the texts (standard and employers' own, rendered with jinja2) and the SES gateway.

Only `gateway` imports boto3; `message` holds the plain values the domain passes around.
"""
