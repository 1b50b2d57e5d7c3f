"""The Cognito gateway of the employee user pool: the only module that talks to cognito-idp.

Usernames arrive case-folded (the domain folds them), because uniqueness without regard to case is
the product's rule and emulations do not fold. Tokens and passwords are never logged.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from werknemerloket.domain.accounts import IdentityTokens, IdTokenClaims
from werknemerloket.domain.ports import AccountExistsError, LoginRefusedError, TokenRejectedError
from werknemerloket.settings import Settings

# Both mean "wrong username or password" to the employee: never say which.
_REFUSED = frozenset({"NotAuthorizedException", "UserNotFoundException", "PasswordResetRequiredException"})
_JWKS_LIFESPAN_SECONDS = 3600


@cache
def _cognito() -> Any:
    """One client per process, made on first use so that importing costs no client set-up."""
    return boto3.client(
        "cognito-idp",
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5),
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def jwks_url(region: str, pool_id: str, endpoint_url: str | None) -> str:
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}/.well-known/jwks.json"


@cache
def _jwks_client(url: str) -> Any:
    import jwt  # lazily: only requests with a Bearer token pay for the crypto imports

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=_JWKS_LIFESPAN_SECONDS, timeout=5)


class CognitoIdentity:
    def __init__(self, settings: Settings):
        self._pool_id = settings.employee_pool_id
        self._client_id = settings.employee_pool_client_id
        self._region = settings.region

    def create_user(self, username: str) -> None:
        try:
            _cognito().admin_create_user(UserPoolId=self._pool_id, Username=username, MessageAction="SUPPRESS")
        except ClientError as error:
            if _code(error) == "UsernameExistsException":
                raise AccountExistsError(username) from None
            raise

    def has_password(self, username: str) -> bool | None:
        try:
            user = _cognito().admin_get_user(UserPoolId=self._pool_id, Username=username)
        except ClientError as error:
            if _code(error) == "UserNotFoundException":
                return None
            raise
        return bool(user.get("UserStatus") != "FORCE_CHANGE_PASSWORD")

    def set_password(self, username: str, password: str) -> None:
        _cognito().admin_set_user_password(
            UserPoolId=self._pool_id, Username=username, Password=password, Permanent=True
        )

    def login(self, username: str, password: str) -> IdentityTokens:
        try:
            answer = _cognito().admin_initiate_auth(
                UserPoolId=self._pool_id,
                ClientId=self._client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as error:
            if _code(error) in _REFUSED:
                raise LoginRefusedError() from None
            raise
        result = answer.get("AuthenticationResult")
        if not result:  # a challenge (e.g. a password never set by its owner): not a login
            raise LoginRefusedError()
        return IdentityTokens(result["IdToken"], result["AccessToken"])  # the refresh token is not kept

    def sign_out_everywhere(self, username: str) -> datetime:
        # admin_user_global_sign_out, not global_sign_out: it needs no access token (the session
        # keeps none) and moto implements it in every region.
        try:
            _cognito().admin_user_global_sign_out(UserPoolId=self._pool_id, Username=username)
        except ClientError as error:
            if _code(error) != "UserNotFoundException":
                raise
        # Cognito stamps `iat` with real time, not the functions' (possibly shifted) clock.
        return datetime.now(UTC)

    def verify_id_token(self, token: str) -> IdTokenClaims:
        import jwt

        try:
            url = jwks_url(self._region, self._pool_id, os.environ.get("AWS_ENDPOINT_URL"))
            key = _jwks_client(url).get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._client_id,
                issuer=f"https://cognito-idp.{self._region}.amazonaws.com/{self._pool_id}",
                options={"require": ["exp", "iat", "iss", "aud", "token_use"]},
            )
        except jwt.PyJWTError as error:
            raise TokenRejectedError(type(error).__name__) from None
        username = claims.get("cognito:username")
        if claims.get("token_use") != "id" or not isinstance(username, str) or not isinstance(claims.get("iat"), int):
            raise TokenRejectedError("not an ID token of the employee pool")
        return IdTokenClaims(username=username, issued_at=datetime.fromtimestamp(claims["iat"], UTC))
