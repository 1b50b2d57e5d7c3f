"""Logger, Metrics and Tracer, configured by the POWERTOOLS_* variables of the template.

Never log a token, password, e-mail address or date of birth: log ids and states instead.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
tracer = Tracer()

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
