"""The Werknemerloket access backend: the code shared by every Lambda function.

Layers, from the outside in: handlers (in functions/) call `domain`; the domain calls repositories
(`data`, the only PynamoDB user) and gateways (`mail`, `identity`, the only boto3 users). Domain
errors carry no HTTP; `web.errors` maps them to answers.
"""
