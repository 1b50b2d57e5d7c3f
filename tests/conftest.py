"""Settings for every test: a complete, fake AWS environment so no test can reach a real account."""

import os

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "STAGE": "test",
    "EMPLOYERS_TABLE": "test-employers",
    "EMPLOYEES_TABLE": "test-employees",
    "INVITATIONS_TABLE": "test-invitations",
    "LINKS_TABLE": "test-links",
    "USERNAMES_TABLE": "test-usernames",
    "SESSIONS_TABLE": "test-sessions",
    "EMAIL_TEMPLATES_TABLE": "test-email-templates",
    "IDEMPOTENCY_TABLE": "test-idempotency",
    "DOCUMENTS_BUCKET": "test-documents",
    "EMPLOYER_ADMIN_POOL_ID": "eu-west-1_admins",
    "EMPLOYEE_POOL_ID": "eu-west-1_employees",
    "EMPLOYEE_POOL_CLIENT_ID": "employeeclient",
    "MAIL_SENDER": "noreply@werknemerloket.test",
    "PUBLIC_BASE_URL": "https://werknemer.example.test",
    "POWERTOOLS_SERVICE_NAME": "werknemerloket",
    "POWERTOOLS_METRICS_NAMESPACE": "Werknemerloket",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
for _name, _value in _ENV.items():
    os.environ.setdefault(_name, _value)
