import pytest

pytestmark = pytest.mark.django_db


def test_pages_need_login(client, directory):
    response = client.get("/directory/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_is_korean_by_default_and_english_on_request(client):
    assert "로그인" in client.get("/accounts/login/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert "Log in" in client.get("/accounts/login/").content.decode()


def test_directory_filters_by_kind_and_region(client, counselor):
    client.force_login(counselor)
    html = client.get("/directory/?kind=microfinance&region=26").content.decode()
    assert 'data-center="MF-BUSAN"' in html
    assert 'data-center="EW-SEOUL-GWANAK"' not in html and 'data-center="MF-SEOUL-GWANAK"' not in html
    assert "출장 고용상담창구" in html


def test_unknown_filter_values_show_everything_instead_of_failing(client, counselor):
    client.force_login(counselor)
    response = client.get("/directory/?kind=<script>&region=99")
    assert response.status_code == 200
    assert "<script>" not in response.content.decode()


def test_nul_bytes_in_parameters_are_a_400_not_a_crash(client, api_for, counselor):
    client.force_login(counselor)
    assert client.get("/directory/?region=%00").status_code == 400
    response = api_for(counselor).get("/api/v1/desks/?center=%00")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


@pytest.mark.parametrize(
    ("role", "nav_present", "nav_absent"),
    [
        ("ministry", ["디렉터리"], ["받은 의뢰", "신규 접수"]),
        ("counselor", ["디렉터리"], ["관리"]),
        ("admin", ["관리"], ["신규 접수"]),
    ],
)
def test_navigation_depends_on_role(client, make_staff, directory, role, nav_present, nav_absent):
    client.force_login(make_staff(role))
    html = client.get("/directory/").content.decode()
    nav = html.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    for label in nav_present:
        assert label in nav
    for label in nav_absent:
        assert label not in nav
