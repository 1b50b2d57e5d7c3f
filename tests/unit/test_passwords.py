"""The username and password rules (NIST SP 800-63B: length, blocklist, no composition rules)."""

from __future__ import annotations

import pytest

from werknemerloket.domain.passwords import (
    CredentialIssue,
    common_passwords,
    credential_issues,
    password_issues,
    username_issues,
    username_key,
)


def test_usernames_are_unique_without_regard_to_case():
    assert username_key("Jan") == username_key("jan") == username_key("JAN") == "jan"


@pytest.mark.parametrize("username", ["jan", "Jan.de-Vries", "jan_1@acme.nl", "a" * 64, "123"])
def test_usernames_of_the_allowed_characters_pass(username):
    assert username_issues(username) == []


@pytest.mark.parametrize("username", ["ja", "a" * 65, "jan vries", "jan+1", "jän", "jan\n", "<b>"])
def test_other_usernames_are_refused(username):
    assert username_issues(username) == [CredentialIssue.USERNAME_FORMAT]


def test_the_shipped_list_is_lowercased_and_only_of_passwords_the_length_rule_lets_through():
    entries = common_passwords()

    assert 150 < len(entries) < 1000
    assert all(entry == entry.lower() and len(entry) >= 12 for entry in entries)
    assert {"password1234", "qwerty123456", "wachtwoord123"} <= entries


@pytest.mark.parametrize("password", ["PASSWORD1234", "Qwerty123456", "WachtWoord123"])
def test_common_passwords_are_refused_whatever_their_case(password):
    assert password_issues(password, password, "jan") == [CredentialIssue.PASSWORD_COMMON]


def test_no_composition_rules_and_spaces_inside_count():
    assert password_issues("alleen kleine letters", "alleen kleine letters", "jan") == []
    assert password_issues("a" + " " * 10 + "b", "a" + " " * 10 + "b", "jan") == []  # nothing is stripped


@pytest.mark.parametrize(
    "password",
    [
        " paarden eten hooi",
        "paarden eten hooi ",
        " " * 12,
        "\tpaarden eten hooi",
        "paarden eten hooi\n",
        "\u00a0paarden eten",
    ],
)
def test_a_password_may_not_begin_or_end_with_whitespace(password):
    # Cognito refuses such a password (^[\S]+.*[\S]+$) only after the activation committed.
    assert password_issues(password, password, "jan") == [CredentialIssue.PASSWORD_EDGE_SPACE]
    assert credential_issues("jan", password, password) == {"password": CredentialIssue.PASSWORD_EDGE_SPACE}


def test_the_password_may_not_be_the_username_in_any_case():
    assert credential_issues("Jan.de.Vries1", "JAN.DE.VRIES1", "JAN.DE.VRIES1") == {
        "password": CredentialIssue.PASSWORD_IS_USERNAME
    }
