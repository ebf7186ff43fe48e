"""Family Z through ZITADEL's official Python SDK (zitadel-client 4.1.9),
unchanged: it speaks the Connect protocol with JSON to
POST /zitadel.user.v2.UserService/{SetPassword,PasswordReset}. The SDK
reports a failure as ApiError with the HTTP status (`code`) and Connect's
error body (`response_body`)."""

import re
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from zitadel_client.exceptions import ApiError
from zitadel_client.models import (
    UserServiceNotificationType,
    UserServicePassword,
    UserServicePasswordResetRequest,
    UserServiceSendPasswordResetLink,
    UserServiceSetPasswordRequest,
)

from conftest import User, fresh_password


def set_password(client, user_id, new_password, **proof):
    return client.users.set_password(
        UserServiceSetPasswordRequest(
            user_id=user_id, new_password=UserServicePassword(password=new_password, change_required=False), **proof
        )
    )


def rpc_error(call):
    """The HTTP status and Connect error body of a call that must fail."""
    with pytest.raises(ApiError) as raised:
        call()
    error = raised.value
    assert isinstance(error.response_body, dict), f"HTTP {error.code}, not a Connect error: {error.response_body!r}"
    # The SDK gives the headers as a plain dict, keys as the server sent them.
    headers = {name.lower(): value for name, value in error.response_headers.items()}
    return error.code, error.response_body, headers


def field_violations(body):
    details = [d for d in body.get("details", []) if d["type"] == "google.rpc.BadRequest"]
    return [(v["field"], v["description"]) for d in details for v in d["debug"]["fieldViolations"]]


def assert_details_match(details, user):
    shown = user.show()
    assert str(details.sequence) == str(shown["sequence"])
    assert details.resource_owner == shown["resourceOwner"]
    assert abs(datetime.now(timezone.utc) - details.change_date) < timedelta(minutes=2)


def test_set_password_with_the_current_password(user):
    new = fresh_password()
    answer = set_password(user.client(), user.id, new, current_password=user.password)
    assert_details_match(answer.details, user)
    # The new password is the current one now.
    again = set_password(user.client(), user.id, fresh_password("newer"), current_password=new)
    assert int(again.details.sequence) > int(answer.details.sequence)
    assert_details_match(again.details, user)


def test_set_password_with_a_code_returned_to_an_admin(user, admin):
    issued = admin.users.password_reset(UserServicePasswordResetRequest(user_id=user.id, return_code={}))
    assert re.fullmatch(r"[A-Z0-9]{1,20}", issued.verification_code)
    assert_details_match(issued.details, user)
    new = fresh_password()
    answer = set_password(user.client(), user.id, new, verification_code=issued.verification_code)
    assert_details_match(answer.details, user)
    set_password(user.client(), user.id, fresh_password("newer"), current_password=new)


def test_set_password_with_a_code_sent_by_email(user):
    link = UserServiceSendPasswordResetLink(
        notification_type=UserServiceNotificationType.NOTIFICATION_TYPE_EMAIL,
        url_template="https://app.example/reset?user={{.UserID}}&code={{.Code}}",
    )
    issued = user.client().users.password_reset(UserServicePasswordResetRequest(user_id=user.id, send_link=link))
    assert issued.verification_code is None
    code = re.search(rf"https://app\.example/reset\?user={user.id}&code=([A-Z0-9]+)", user.mails()[-1]["body"])[1]
    answer = set_password(user.client(), user.id, fresh_password(), verification_code=code)
    assert_details_match(answer.details, user)


def test_a_wrong_current_password_is_invalid_argument(user):
    status, body, _ = rpc_error(lambda: set_password(user.client(), user.id, fresh_password(), current_password="not it at all"))
    assert (status, body["code"]) == (400, "invalid_argument")
    assert [field for field, _ in field_violations(body)] == ["currentPassword"]


def test_another_users_password_is_permission_denied(user):
    stranger = User("stranger", fresh_password("stranger"))
    status, body, _ = rpc_error(lambda: set_password(stranger.client(), user.id, fresh_password(), current_password=user.password))
    assert (status, body["code"]) == (403, "permission_denied")


def test_no_token_is_unauthenticated(user, anonymous):
    status, body, headers = rpc_error(lambda: set_password(anonymous, user.id, fresh_password(), current_password=user.password))
    assert (status, body["code"]) == (401, "unauthenticated")
    assert headers["www-authenticate"].lower().startswith("bearer")


def test_an_unknown_user_is_not_found_for_an_admin(admin):
    status, body, _ = rpc_error(lambda: set_password(admin, secrets.token_hex(12), fresh_password()))
    assert (status, body["code"]) == (404, "not_found")


def test_a_policy_violation_is_invalid_argument_on_the_new_password(user):
    status, body, _ = rpc_error(lambda: set_password(user.client(), user.id, "short", current_password=user.password))
    assert (status, body["code"]) == (400, "invalid_argument")
    [(field, description)] = field_violations(body)
    assert field == "newPassword.password"
    assert "password-too-short" in description


def test_too_many_wrong_passwords_are_resource_exhausted(user):
    client = user.client()
    wrong = 0
    while True:
        status, body, headers = rpc_error(lambda: set_password(client, user.id, fresh_password(), current_password="not it"))
        if body["code"] != "invalid_argument":
            break
        wrong += 1
        assert wrong <= 50, "no limit on wrong current passwords"
    assert wrong >= 1, "the first wrong password was already refused for the limit"
    assert (status, body["code"]) == (429, "resource_exhausted")
    assert int(headers["retry-after"]) > 0
    # Once the limit is reached, the right password is refused too.
    status, body, _ = rpc_error(lambda: set_password(client, user.id, fresh_password(), current_password=user.password))
    assert body["code"] == "resource_exhausted"
