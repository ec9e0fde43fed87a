import pytest

from actors import Broadcast, Direct, InvalidAddress, Role, parse_address


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("coder-1", Direct("coder-1")),
        ("role:coder", Role("coder")),
        ("*", Broadcast()),
        ("*:coder", Broadcast(role="coder")),
        ("a", Direct("a")),
        ("x_y-9", Direct("x_y-9")),
    ],
)
def test_string_forms_parse_to_their_address(text, address):
    assert parse_address(text) == address
    assert str(address) == text


def test_an_address_object_parses_to_itself():
    address = Role("reviewer")
    assert parse_address(address) is address


@pytest.mark.parametrize(
    "bad",
    ["", "Coder", "has space", "dot.ted", "-lead", "x" * 65, "role:", "role:Big", "*:", "*:a b"],
)
def test_malformed_names_and_roles_are_rejected_where_written(bad):
    with pytest.raises(InvalidAddress) as info:
        parse_address(bad)
    assert info.value.value is not None


def test_sixty_four_characters_is_the_longest_name():
    assert parse_address("a" * 64) == Direct("a" * 64)


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["x"]])
def test_non_strings_are_rejected(bad):
    with pytest.raises(InvalidAddress):
        parse_address(bad)


def test_constructors_validate_too():
    with pytest.raises(InvalidAddress):
        Direct("UPPER")
    with pytest.raises(InvalidAddress):
        Role("")
    with pytest.raises(InvalidAddress):
        Broadcast(role="no way")


def test_invalid_address_is_a_value_error_and_a_regiment_error():
    from actors import RegimentError

    with pytest.raises(ValueError, match="invalid name"):
        Direct("Nope")
    assert issubclass(InvalidAddress, RegimentError)
