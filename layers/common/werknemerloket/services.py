"""The composition root: domain services wired to their real repositories, gateways and clock.

Built per request (construction does no I/O), so a clock swapped in by the local stack or a test
is always the one in use. Each factory imports what it wires only when called, so that a function
pays at cold start for its own services alone (the employer API never loads the Cognito gateway,
the activation pages never load the mail texts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werknemerloket.clock import get_clock
from werknemerloket.settings import get_settings

if TYPE_CHECKING:
    from werknemerloket.domain.activation import ActivationService
    from werknemerloket.domain.invitations import InvitationService
    from werknemerloket.domain.registry import Registry
    from werknemerloket.domain.sessions import SessionService
    from werknemerloket.domain.sweep import SweepService
    from werknemerloket.mail.gateway import SesMailer
    from werknemerloket.mail.texts import MailTexts


def registry() -> Registry:
    from werknemerloket.data.registry import DynamoEmployeeRepository, DynamoEmployerRepository
    from werknemerloket.domain.registry import Registry

    return Registry(DynamoEmployerRepository(), DynamoEmployeeRepository(), get_clock())


def mail_texts() -> MailTexts:
    from werknemerloket.data.templates import DynamoTemplateStore
    from werknemerloket.domain.invitations import activation_url
    from werknemerloket.mail.texts import MailTexts

    return MailTexts(
        DynamoTemplateStore(),
        clock=get_clock(),
        sample_activation_url=activation_url(get_settings().public_base_url, "Voorbeeld"),
    )


def mailer() -> SesMailer:
    from werknemerloket.mail.gateway import SesMailer

    return SesMailer(get_settings().mail_sender)


def invitations() -> InvitationService:
    from werknemerloket.data.invitations import DynamoInvitationRepository
    from werknemerloket.domain.invitations import InvitationService

    settings = get_settings()
    return InvitationService(
        DynamoInvitationRepository(settings), mail_texts(), mailer(), get_clock(), settings.public_base_url
    )


def sweep() -> SweepService:
    from datetime import timedelta

    from werknemerloket.data.sweep import DynamoSweepStore
    from werknemerloket.domain.sweep import SweepService

    settings = get_settings()
    return SweepService(
        DynamoSweepStore(settings),
        mail_texts(),
        mailer(),
        get_clock(),
        settings.public_base_url,
        reminder_lead=timedelta(hours=settings.reminder_hours_before_expiry),
    )


def sessions() -> SessionService:
    from werknemerloket.data.activation import DynamoSessionRepository
    from werknemerloket.domain.sessions import SessionService
    from werknemerloket.identity import CognitoIdentity

    settings = get_settings()
    return SessionService(DynamoSessionRepository(settings), CognitoIdentity(settings), get_clock())


def activation() -> ActivationService:
    from werknemerloket.data.activation import DynamoActivationRepository, DynamoSessionRepository
    from werknemerloket.domain.activation import ActivationService
    from werknemerloket.domain.sessions import SessionService
    from werknemerloket.identity import CognitoIdentity

    settings = get_settings()
    identity = CognitoIdentity(settings)
    return ActivationService(
        DynamoActivationRepository(settings),
        identity,
        SessionService(DynamoSessionRepository(settings), identity, get_clock()),
        get_clock(),
    )
