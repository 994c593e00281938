import csv
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from centers.models import Center, CenterKind, Desk, Domain, Region, Service
from centers.services import DATA_DIR, DirectoryFileError, directory_load

pytestmark = pytest.mark.django_db

SOURCE = list(csv.DictReader((DATA_DIR / "centers.csv").open(encoding="utf-8")))


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_loads_exactly_the_centers_of_the_data_file(directory):
    assert Center.objects.count() == len(SOURCE) == 34
    assert Center.objects.filter(kind=CenterKind.EMPLOYMENT_WELFARE).count() == 18
    assert Center.objects.filter(kind=CenterKind.MICROFINANCE).count() == 13
    assert set(Center.objects.values_list("code", flat=True)) == {row["code"] for row in SOURCE}
    gwanak = Center.objects.get(code="EW-SEOUL-GWANAK")
    assert gwanak.name == "서울관악고용복지플러스센터"
    assert gwanak.region.code == "11"
    assert float(gwanak.latitude) == pytest.approx(37.4784)


def test_regions_are_the_17_sido_with_current_names(directory):
    assert Region.objects.count() == 17
    names = set(Region.objects.values_list("name", flat=True))
    assert {"강원특별자치도", "전북특별자치도"} <= names
    assert not names & {"강원도", "전라북도"}
    assert Region.objects.get(name="강원특별자치도").code == "51"


def test_every_employment_welfare_center_hosts_an_outreach_finance_desk_run_by_microfinance(directory):
    for center in Center.objects.filter(kind=CenterKind.EMPLOYMENT_WELFARE):
        desk = center.desks.get(outreach=True)
        assert desk.domain == Domain.FINANCE
        assert desk.operator_kind == CenterKind.MICROFINANCE
        assert set(desk.services.values_list("code", flat=True)) == {"policy_microloan", "credit_counseling"}
        assert len(desk.open_days) == 2
        assert {d.domain for d in center.desks.all()} == {"employment", "welfare", "finance"}


def test_every_microfinance_center_hosts_an_outreach_employment_desk(directory):
    for center in Center.objects.filter(kind=CenterKind.MICROFINANCE):
        desk = center.desks.get(outreach=True)
        assert desk.domain == Domain.EMPLOYMENT
        assert desk.operator_kind == CenterKind.EMPLOYMENT_WELFARE
        assert "kesp" in desk.services.values_list("code", flat=True)
        assert len(desk.open_days) == 2


def test_desk_totals_follow_the_desk_rules(directory):
    # 18 × 3 + 13 × 2 + 3 partner desks.
    assert Desk.objects.count() == 18 * 3 + 13 * 2 + 3
    assert Desk.objects.get(code="CR-SEOUL-FIN").services.filter(code="debt_adjustment").exists()
    assert Desk.objects.get(code="LG-SEOUL-GWANAK-WEL").domain == Domain.WELFARE


def test_service_catalog_has_outcome_codes(directory):
    assert Service.objects.count() == 11
    loan = Service.objects.get(code="policy_microloan")
    assert loan.domain == Domain.FINANCE
    assert "loan_disbursed" in loan.outcomes.values_list("code", flat=True)
    for service in Service.objects.all():
        assert service.outcomes.exists()


def test_loading_twice_gives_the_same_rows(directory):
    before = {m: list(m.objects.order_by("pk").values()) for m in (Region, Center, Desk, Service)}
    result = directory_load()
    assert not result.created and not result.updated
    assert {m: list(m.objects.order_by("pk").values()) for m in (Region, Center, Desk, Service)} == before


def test_a_changed_file_updates_rows_in_place(directory, data_copy):
    desk_pk = Desk.objects.get(code="EW-SEOUL-GWANAK-FIN-OUT").pk
    path = data_copy / "desks.csv"
    text = path.read_text(encoding="utf-8").replace(
        "EW-SEOUL-GWANAK-FIN-OUT,EW-SEOUL-GWANAK,출장 서민금융 상담창구,finance,1,microfinance,policy_microloan credit_counseling,1 3,10:00,17:00,12,60,1",
        "EW-SEOUL-GWANAK-FIN-OUT,EW-SEOUL-GWANAK,출장 서민금융 상담창구,finance,1,microfinance,policy_microloan credit_counseling,1 3 4,10:00,17:00,20,45,2",
    )
    path.write_text(text, encoding="utf-8")
    result = directory_load(data_dir=data_copy)
    desk = Desk.objects.get(code="EW-SEOUL-GWANAK-FIN-OUT")
    assert desk.pk == desk_pk
    assert desk.capacity == 20 and desk.open_days == [1, 3, 4]
    assert (desk.slot_minutes, desk.slot_places) == (45, 2)
    assert result.updated == {"desks": 1}


def test_a_desk_removed_from_the_file_is_deactivated_not_deleted(directory, data_copy):
    path = data_copy / "desks.csv"
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("CR-SEOUL-FIN,")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    directory_load(data_dir=data_copy)
    assert Desk.objects.get(code="CR-SEOUL-FIN").active is False


@pytest.mark.parametrize(
    ("filename", "bad_line", "reason"),
    [
        ("centers.csv", "XX-BAD,spaceport,나쁜센터,Bad,서울특별시,관악구,37.5,126.9", "unknown center kind"),
        ("centers.csv", "XX-BAD,other,나쁜센터,Bad,서울특별시,관악구,north,126.9", "latitude 'north' is not valid"),
        ("centers.csv", "XX-BAD,other,나쁜센터,Bad,서울특별시,관악구,51.5,-0.1", "outside Korea"),
        ("centers.csv", "XX-BAD,other,나쁜센터,Bad,강원도,춘천시,37.8,127.7", "unknown region '강원도'"),
        ("centers.csv", "XX-BAD,other,too,few", "expected 8 fields"),
        (
            "desks.csv",
            "XX-DESK,NOPE,창구,finance,0,microfinance,policy_microloan,0 1,09:00,18:00,5,30,1",
            "unknown center 'NOPE'",
        ),
        (
            "desks.csv",
            "XX-DESK,CR-SEOUL,창구,finance,0,microfinance,teleport,0 1,09:00,18:00,5,30,1",
            "unknown service teleport",
        ),
        (
            "desks.csv",
            "XX-DESK,CR-SEOUL,창구,finance,0,microfinance,debt_adjustment,0 9,09:00,18:00,5,30,1",
            "weekdays",
        ),
        (
            "desks.csv",
            "XX-DESK,CR-SEOUL,창구,finance,0,microfinance,debt_adjustment,0 1,18:00,09:00,5,30,1",
            "before closes_at",
        ),
        (
            "desks.csv",
            "CR-SEOUL-FIN,CR-SEOUL,창구,finance,0,microfinance,debt_adjustment,0 1,09:00,18:00,5,30,1",
            "duplicate code",
        ),
    ],
)
def test_a_malformed_row_loads_nothing_and_names_file_line_and_reason(data_copy, filename, bad_line, reason):
    path = data_copy / filename
    original_lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*original_lines, bad_line]) + "\n", encoding="utf-8")
    with pytest.raises(DirectoryFileError) as info:
        directory_load(data_dir=data_copy)
    assert info.value.path.name == filename
    assert info.value.line == len(original_lines) + 1
    assert reason in info.value.reason
    assert Center.objects.count() == 0 and Desk.objects.count() == 0 and Region.objects.count() == 0


def test_a_malformed_file_leaves_an_existing_directory_untouched(directory, data_copy):
    before = list(Desk.objects.order_by("pk").values())
    path = data_copy / "desks.csv"
    text = path.read_text(encoding="utf-8").replace(",1 3,10:00,17:00,12", ",1 3,10:00,17:00,-4", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryFileError, match="capacity"):
        directory_load(data_dir=data_copy)
    assert list(Desk.objects.order_by("pk").values()) == before


def test_command_reports_the_error_and_exits_nonzero(data_copy):
    (data_copy / "regions.csv").write_text("code,name\n11,서울\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"regions.csv, line 1: expected columns"):
        call_command("load_directory", data_dir=data_copy)
    assert Region.objects.count() == 0


def test_desk_slot_settings_come_from_the_file(directory):
    outreach = Desk.objects.get(code="EW-SEOUL-GWANAK-FIN-OUT")
    employment = Desk.objects.get(code="EW-SEOUL-GWANAK-EMP")
    assert (outreach.slot_minutes, outreach.slot_places) == (60, 1)
    assert (employment.slot_minutes, employment.slot_places) == (30, 3)


def test_a_slot_longer_than_the_opening_hours_is_refused(data_copy):
    path = data_copy / "desks.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = "XX-DESK,CR-SEOUL,창구,finance,0,microfinance,debt_adjustment,0 1,09:00,10:00,5,90,1"
    path.write_text("\n".join([*lines, bad]) + "\n", encoding="utf-8")
    with pytest.raises(DirectoryFileError) as info:
        directory_load(data_dir=data_copy)
    assert info.value.line == len(lines) + 1 and "slot" in info.value.reason
