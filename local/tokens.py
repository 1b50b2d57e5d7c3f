"""`POST /_local/employer-token`: an employer admin and its ID token, set up the way an operator would.

In a real account an operator creates the admin in the employer-admin pool and adds it to the
employer's group; its token then reaches that employer only. Locally the route does both and logs in
with ADMIN_USER_PASSWORD_AUTH, so a developer or a test holds a real token of the real pool, checked
by the emulated authorizer exactly as API Gateway checks it.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading

import boto3

from werknemerloket.web.auth import employer_group

EMPLOYER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class EmployerTokens:
    def __init__(self, pool_id: str, client_id: str) -> None:
        self._pool_id = pool_id
        self._client_id = client_id
        self._cognito = boto3.session.Session().client("cognito-idp")
        # One at a time: two calls for the same employer would otherwise set each other's password.
        self._lock = threading.Lock()

    def issue(self, employer_id: str) -> str:
        """An ID token of `admin-<employerId>` (an id EMPLOYER_ID matches), creating group and admin if need be."""
        group, username = employer_group(employer_id), f"admin-{employer_id}"
        password = secrets.token_urlsafe(24) + "Aa1!"  # meets any password policy a pool may set
        cognito, pool = self._cognito, self._pool_id
        with self._lock:
            with contextlib.suppress(cognito.exceptions.GroupExistsException):
                cognito.create_group(UserPoolId=pool, GroupName=group)
            with contextlib.suppress(cognito.exceptions.UsernameExistsException):
                cognito.admin_create_user(
                    UserPoolId=pool, Username=username, TemporaryPassword=password, MessageAction="SUPPRESS"
                )
            cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=password, Permanent=True)
            cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
            result = cognito.admin_initiate_auth(
                UserPoolId=pool,
                ClientId=self._client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        return str(result["AuthenticationResult"]["IdToken"])
