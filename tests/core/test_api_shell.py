"""The v2 API shell: authentication paths and Bailo's error shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import basic

pytestmark = pytest.mark.django_db


def assert_bailo_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_ui_config_is_public() -> None:
    response = Client().get("/api/v2/config/ui")
    assert response.status_code == 200
    assert response.json()["uiConfig"]["modelDetails"]["states"] == [
        "Development",
        "Review",
        "Production",
    ]


def test_anonymous_callers_are_refused_with_a_401_in_bailo_shape() -> None:
    error = assert_bailo_error(Client().get("/api/v2/entities/me"), 401)
    assert "Authentication required" in error["message"]


def test_a_signed_in_user_sees_themself(client_for: Any, outsider: Any) -> None:
    response = client_for(outsider).get("/api/v2/entities/me")
    assert response.status_code == 200
    assert response.json()["user"] == {
        "dn": "olive",
        "entity": "user:olive",
        "email": "olive@example.org",
        "isAdmin": False,
    }


def test_admin_group_members_are_admins(client_for: Any, site_admin: Any) -> None:
    assert client_for(site_admin).get("/api/v2/entities/me").json()["user"]["isAdmin"] is True


def test_a_token_authenticates_as_its_user(make_token: Any, outsider: Any) -> None:
    token, secret = make_token(outsider)
    response = Client().get("/api/v2/entities/me", **basic(token.access_key, secret))
    assert response.status_code == 200
    assert response.json()["user"]["dn"] == "olive"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_wrong_secret_is_refused(make_token: Any, outsider: Any) -> None:
    token, _ = make_token(outsider)
    response = Client().get("/api/v2/entities/me", **basic(token.access_key, "BSK_wrong"))
    assert "Invalid access key" in assert_bailo_error(response, 401)["message"]


def test_an_unknown_access_key_is_refused() -> None:
    assert_bailo_error(Client().get("/api/v2/entities/me", **basic("BAC_NOPE0000", "x")), 401)


@pytest.mark.parametrize("header", ["Bearer abc", "Basic !!notbase64", "Basic " + "bm9jb2xvbg=="])
def test_malformed_authorization_headers_are_refused(header: str) -> None:
    assert_bailo_error(Client().get("/api/v2/entities/me", HTTP_AUTHORIZATION=header), 401)


def test_a_revoked_token_is_refused(make_token: Any, outsider: Any) -> None:
    token, secret = make_token(outsider, revoked_at=timezone.now())
    assert_bailo_error(Client().get("/api/v2/entities/me", **basic(token.access_key, secret)), 401)


def test_an_expired_token_is_refused(make_token: Any, outsider: Any) -> None:
    token, secret = make_token(outsider, expires_at=timezone.now() - timedelta(seconds=1))
    assert_bailo_error(Client().get("/api/v2/entities/me", **basic(token.access_key, secret)), 401)


def test_a_token_of_a_deactivated_user_is_refused(make_token: Any, outsider: Any) -> None:
    token, secret = make_token(outsider)
    outsider.is_active = False
    outsider.save()
    assert_bailo_error(Client().get("/api/v2/entities/me", **basic(token.access_key, secret)), 401)


def test_dev_mode_acts_as_the_admin_user_without_credentials(settings: Any) -> None:
    settings.BAILO_AUTH_MODE = "dev"
    response = Client().get("/api/v2/entities/me")
    assert response.status_code == 200
    assert response.json()["user"]["dn"] == "user"
    assert response.json()["user"]["isAdmin"] is True


def test_dev_mode_still_refuses_bad_credentials(settings: Any) -> None:
    settings.BAILO_AUTH_MODE = "dev"
    assert_bailo_error(Client().get("/api/v2/entities/me", **basic("BAC_NOPE0000", "x")), 401)


def test_unknown_api_paths_answer_json_404() -> None:
    error = assert_bailo_error(Client().get("/api/v2/no/such/thing"), 404)
    assert "/api/v2/no/such/thing" in error["message"]


def test_unknown_api_paths_answer_json_404_with_debug_off(settings: Any) -> None:
    settings.DEBUG = False
    assert_bailo_error(Client().get("/api/v3/anything"), 404)


def test_openapi_description_is_served() -> None:
    spec = Client().get("/api/v2/openapi.json").json()
    assert spec["info"]["title"] == "Bailo"
    assert "/api/v2/system/status" in spec["paths"]


def test_the_description_is_also_served_at_bailos_path_without_signing_in() -> None:
    response = Client().get("/api/v2/api-docs/swagger.json")
    assert response.status_code == 200
    assert response.json() == Client().get("/api/v2/openapi.json").json()


def test_swagger_ui_loads_only_local_assets() -> None:
    html = Client().get("/api/docs").content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "https://" not in html and "http://" not in html.replace("http://testserver", "")


def test_system_status_answers_as_bailo_does() -> None:
    response = Client().get("/api/v2/system/status")
    assert response.status_code == 200
    assert response.json() == {"ping": "pong", "federation": {"state": "disabled", "id": ""}}


def test_system_status_names_the_configured_federation_id(settings: Any) -> None:
    settings.BAILO_FEDERATION_ID = "west"
    body = Client().get("/api/v2/system/status").json()
    assert body["federation"] == {"state": "disabled", "id": "west"}


def test_system_health_reports_every_component(client_for: Any, outsider: Any) -> None:
    body = client_for(outsider).get("/api/v2/system/health").json()
    assert set(body["components"]) == {"database", "redis", "s3", "registry", "clamd"}
    assert body["components"]["database"]["state"] == "ok"
    assert body["components"]["database"]["detail"]
    assert "millis" in body["components"]["database"]


def test_anonymous_callers_see_only_whether_each_component_is_up() -> None:
    body = Client().get("/api/v2/system/health").json()
    assert set(body["components"]) == {"database", "redis", "s3", "registry", "clamd"}
    for component in body["components"].values():
        assert set(component) == {"state"}
    assert set(body) == {"ok", "status", "components"}


# --- Bailo's other system routes ------------------------------------------------------------------


def test_peers_are_an_empty_map_while_federation_does_not_exist(
    client_for: Any, outsider: Any
) -> None:
    assert client_for(outsider).get("/api/v2/system/peers").json() == {"peers": {}}
    assert_bailo_error(Client().get("/api/v2/system/peers"), 401)


def test_an_entity_lookup_gives_a_display_name_and_e_mail(
    client_for: Any, outsider: Any, make_user: Any
) -> None:
    make_user("ada", first_name="Ada", last_name="Lovelace", email="ada@example.org")
    body = client_for(outsider).get("/api/v2/entity/ada/lookup").json()
    assert body == {"entity": {"name": "Ada Lovelace", "email": "ada@example.org"}}


def test_an_entity_without_a_full_name_is_named_by_user_name(
    client_for: Any, outsider: Any, make_user: Any
) -> None:
    make_user("bare", first_name="", last_name="", email="")
    body = client_for(outsider).get("/api/v2/entity/bare/lookup").json()
    assert body == {"entity": {"name": "bare"}}


def test_an_unknown_or_inactive_entity_is_not_found(
    client_for: Any, outsider: Any, make_user: Any
) -> None:
    make_user("gone", is_active=False)
    client = client_for(outsider)
    assert (
        "nobody" in assert_bailo_error(client.get("/api/v2/entity/nobody/lookup"), 404)["message"]
    )
    assert_bailo_error(client.get("/api/v2/entity/gone/lookup"), 404)
    assert_bailo_error(Client().get("/api/v2/entity/gone/lookup"), 401)


def test_v3_entities_me_lists_system_roles(client_for: Any, outsider: Any, site_admin: Any) -> None:
    me = client_for(outsider).get("/api/v3/entities/me").json()
    assert me == {"user": {"dn": "olive", "systemRoles": []}}
    admin = client_for(site_admin).get("/api/v3/entities/me").json()
    assert admin["user"]["systemRoles"] == ["admin"]
    assert_bailo_error(Client().get("/api/v3/entities/me"), 401)


def test_v3_has_its_own_openapi_description() -> None:
    spec = Client().get("/api/v3/api-docs/swagger.json").json()
    assert spec["info"]["version"] == "3.0.0"
    assert "/api/v3/entities/me" in spec["paths"]
