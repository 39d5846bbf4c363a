"""The organism file: loading, the shipped schema, and errors that name file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actors.errors import ConfigError
from actors.organism import ListenerDecl, load_organism, load_organism_text
from examples import calc
from tests import listeners

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "calc.xml"


def organism_with(*listener_lines: str) -> str:
    """An organism whose listeners start on line 2, one per argument and line."""
    return "\n".join(['<organism name="demo">', *listener_lines, "</organism>"])


ADD = 'handler="examples.calc:add" payload="examples.calc:Add"'


def only_listener(*listener_lines: str) -> ListenerDecl:
    (listener,) = load_organism_text(organism_with(*listener_lines)).listeners
    return listener


def config_error(text: str, source: str = "demo.xml") -> str:
    with pytest.raises(ConfigError) as caught:
        load_organism_text(text, source)
    return str(caught.value)


def test_the_example_organism_loads_with_its_declared_values() -> None:
    organism = load_organism(EXAMPLE)
    assert organism.name == "calculator"
    assert organism.path == EXAMPLE
    (listener,) = organism.listeners
    assert listener.name == "calculator.add"
    assert listener.handler is calc.add
    assert listener.payload_classes == (calc.Add,)
    assert listener.description == "Adds two integers"
    assert listener.workers == 2
    assert listener.timeout == 5.0
    assert listener.peers is None
    assert listener.requires == {}
    assert listener.line == 3


def test_every_attribute_of_a_listener_is_loaded() -> None:
    listener = only_listener(
        f'  <listener name="calculator.add" {ADD} workers="3" timeout="2.5" peers="a b.c">',
        "    <description>\n      Adds   two\n      integers\n    </description>",
        '    <requires gpu="true" zone="eu-1"/>',
        "  </listener>",
    )
    assert listener.workers == 3
    assert listener.concurrency is None
    assert listener.timeout == 2.5
    assert listener.peers == ("a", "b.c")
    assert listener.description == "Adds two integers"
    assert listener.requires == {"gpu": "true", "zone": "eu-1"}
    assert listener.line == 2


def test_concurrency_is_loaded_when_given() -> None:
    listener = only_listener(f'  <listener name="calculator.add" {ADD} concurrency="32"/>')
    assert listener.concurrency == 32


def test_optional_attributes_take_their_defaults() -> None:
    listener = only_listener(f'  <listener name="calculator.add" {ADD}/>')
    assert (listener.workers, listener.timeout, listener.description) == (1, 0.0, "")
    assert listener.peers is None
    assert listener.requires == {}


@pytest.mark.parametrize(
    ("attribute", "peers"),
    [("", None), ('peers=""', ()), ('peers="   "', ()), ('peers=" a  b "', ("a", "b"))],
)
def test_peers_absent_means_anywhere_and_present_but_empty_means_nowhere(
    attribute: str, peers: tuple[str, ...] | None
) -> None:
    listener = only_listener(f'  <listener name="front" {ADD} {attribute}/>')
    assert listener.peers == peers


def test_several_payload_classes_are_imported_in_the_order_written() -> None:
    listener = only_listener(
        '  <listener name="front" handler="examples.calc:add"'
        ' payload="examples.calc:Add  tests.listeners:Echo examples.calc:Sum"/>'
    )
    assert listener.payload_classes == (calc.Add, listeners.Echo, calc.Sum)


def test_a_start_tag_over_several_lines_is_placed_on_its_last_line_as_libxml2_does() -> None:
    listener = only_listener('  <listener name="a"', f"     {ADD}", '     workers="2">', "  </listener>")
    assert listener.line == 4


def test_listeners_keep_file_order_and_their_own_lines() -> None:
    organism = load_organism_text(
        organism_with(f'  <listener name="one" {ADD}/>', "", f'  <listener name="two" {ADD}/>')
    )
    assert [(d.name, d.line) for d in organism.listeners] == [("one", 2), ("two", 4)]


def test_an_organism_without_listeners_is_valid() -> None:
    assert load_organism_text('<organism name="empty"/>').listeners == ()


def test_a_missing_file_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.xml"
    with pytest.raises(ConfigError, match=re.escape(f"{missing}: cannot read")):
        load_organism(missing)


def test_malformed_xml_is_a_config_error_naming_file_and_line() -> None:
    message = config_error(organism_with(f'  <listener name="a" {ADD}>', "</organism>"))
    assert re.match(r"demo\.xml:\d+: ", message), message


def test_a_doctype_is_refused_by_the_hardened_parser() -> None:
    text = '<!DOCTYPE organism [<!ENTITY x "y">]>\n<organism name="&x;"/>'
    assert config_error(text).startswith("demo.xml")


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ('workers="0"', "Element 'listener', attribute 'workers': '0' is not a valid value"),
        ('workers="two"', "attribute 'workers': 'two' is not a valid value"),
        ('timeout="-1"', "attribute 'timeout'"),
        ('colour="red"', "The attribute 'colour' is not allowed"),
        ('concurrency="0"', "listener 'b': Element 'listener', attribute 'concurrency': '0'"),
        ('concurrency="many"', "listener 'b': Element 'listener', attribute 'concurrency'"),
    ],
)
def test_a_schema_violation_names_file_line_and_attribute(attributes: str, expected: str) -> None:
    message = config_error(organism_with(f'  <listener name="a" {ADD}/>',
                                         f'  <listener name="b" {ADD} {attributes}/>'))
    assert message.startswith("demo.xml:3: ")
    assert expected in message


def test_a_missing_required_attribute_is_named() -> None:
    message = config_error(organism_with('  <listener name="a" payload="examples.calc:Add"/>'))
    assert message.startswith("demo.xml:2: ")
    assert "handler" in message


def test_a_reference_without_a_colon_is_explained() -> None:
    message = config_error(
        organism_with('  <listener name="a" handler="examples.calc.add" payload="examples.calc:Add"/>')
    )
    assert message.startswith("demo.xml:2: ")
    assert "'examples.calc.add' is not of the form 'package.module:name'" in message


def test_an_unknown_element_is_refused_with_its_line() -> None:
    message = config_error(organism_with(f'  <listener name="a" {ADD}>', "    <colour/>", "  </listener>"))
    assert message.startswith("demo.xml:3: ")


def test_duplicate_listener_names_are_refused_at_the_second_declaration() -> None:
    message = config_error(
        organism_with(f'  <listener name="calculator.add" {ADD}/>',
                      f'  <listener name="calculator.add" {ADD}/>')
    )
    assert message == (
        "demo.xml:3: listener name 'calculator.add' is declared twice;"
        " each listener needs its own name"
    )


def test_an_unknown_payload_name_is_refused_with_the_listener_and_its_line() -> None:
    message = config_error(
        organism_with(
            '  <listener name="x" handler="examples.calc:add" payload="examples.calc:Add"/>',
            '  <listener name="calculator.add" handler="examples.calc:add" payload="examples.calc:Ad"/>',
        )
    )
    assert message == (
        "demo.xml:3: listener 'calculator.add': cannot import 'examples.calc:Ad':"
        " module 'examples.calc' has no 'Ad'"
    )


def test_an_unknown_handler_module_is_refused_with_its_line() -> None:
    message = config_error(
        organism_with('  <listener name="a" handler="examples.nowhere:add" payload="examples.calc:Add"/>')
    )
    assert message.startswith("demo.xml:2: listener 'a': cannot import 'examples.nowhere:add': ")
    assert "examples.nowhere" in message


def test_a_payload_class_that_is_not_xmlify_is_refused() -> None:
    message = config_error(
        organism_with('  <listener name="a" handler="examples.calc:add" payload="pathlib:Path"/>')
    )
    assert message.startswith("demo.xml:2: listener 'a': payload 'pathlib:Path' is not an @xmlify class")


def test_a_handler_that_is_not_callable_is_refused() -> None:
    message = config_error(
        organism_with('  <listener name="a" handler="examples.calc:__all__" payload="examples.calc:Add"/>')
    )
    assert message.startswith("demo.xml:2: listener 'a': handler 'examples.calc:__all__' is not callable")


def test_names_reserved_for_system_listeners_are_refused() -> None:
    message = config_error(organism_with(f'  <listener name="system.buffer" {ADD}/>'))
    assert message.startswith("demo.xml:2: listener 'system.buffer': names starting with 'system.'")


def test_text_without_a_source_is_named_string() -> None:
    with pytest.raises(ConfigError, match=r"^<string>:2: "):
        load_organism_text(organism_with(f'  <listener name="a" {ADD} workers="0"/>'))


def test_a_wrong_root_element_is_refused_with_its_line() -> None:
    assert config_error("<organisms/>").startswith("demo.xml:1: ")
