import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.netid import normalize_net_id, validate_net_id


@pytest.mark.parametrize("net_id", ["a", "alice", "jdoe42", "z1234567", "abcdefgh"])
def test_valid_net_ids_pass(net_id: str) -> None:
    validate_net_id(net_id)


@pytest.mark.parametrize(
    "net_id", ["", "1alice", "Alice", "alice_b", "abcdefghi", "al ice", "alice@uw.edu", "ali-ce", "é"]
)
def test_invalid_net_ids_get_a_clear_error(net_id: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_net_id(net_id)
    assert "is not a UW NetID" in error.value.messages[0]
    assert "starting with a letter" in error.value.messages[0]


def test_normalize_strips_case_space_and_uw_scope() -> None:
    assert normalize_net_id("  JDoe@washington.edu ") == "jdoe"
    assert normalize_net_id("jdoe@uw.edu") == "jdoe"
    assert normalize_net_id("jdoe@gmail.com") == "jdoe@gmail.com"


@pytest.mark.django_db
def test_create_user_normalizes_and_refuses_bad_net_ids() -> None:
    user = User.objects.create_user(" Alice ", password="x" * 12, full_name="Alice Nguyen")
    assert user.net_id == "alice"
    with pytest.raises(ValidationError):
        User.objects.create_user("9lives", full_name="Nine")
    assert not User.objects.filter(net_id="9lives").exists()


@pytest.mark.django_db
def test_model_validation_reports_the_net_id_field() -> None:
    user = User(net_id="Bad_ID", full_name="Bad")
    with pytest.raises(ValidationError) as error:
        user.full_clean()
    assert "net_id" in error.value.message_dict
