"""Names as parameters (issue 11, point 5): a label or alternative name resolves to its IRI
whatever the case, accents or punctuation; an ambiguous or unknown name is an error that
lists the candidates or the nearest names."""

from __future__ import annotations

import pytest

from conftest import ROOT
from kgraph import Project
from kgraph.errors import UsageError
from kgraph.names import AmbiguousName, NameIndex, UnknownName, normal
from kgraph.namespaces import KG, KGD


@pytest.fixture(scope="module")
def store() -> object:
    return Project.open(ROOT, isolated=False).dataset().store


@pytest.fixture(params=["lookup", "scan"])
def index(request: pytest.FixtureRequest, store: object) -> NameIndex:
    # The same answers whether names are looked up one by one or read all at once.
    return NameIndex.from_store(store) if request.param == "lookup" else NameIndex.scan(store)


@pytest.mark.parametrize(
    ("name", "iri"),
    [
        ("Choe Son Hui", "ChoeSonHui"),  # preferred label
        ("Choe Son-hui", "ChoeSonHui"),  # alternative label
        ("Cui Shanji", "ChoeSonHui"),  # hidden label (the article's transliteration)
        ("최선희", "ChoeSonHui"),  # a label in another language
        ("CHOE SON HUI", "ChoeSonHui"),
        ("Chöe Són Húi", "ChoeSonHui"),  # accents ignored
        ("  yoon suk-yeol ", "YoonSukYeol"),
        ("Pentagon", "USDepartmentOfDefense"),
        ("kgd:ChoeSonHui", "ChoeSonHui"),  # a CURIE, as before
        ("<https://w3id.org/kgraph/id/KurskOblast>", "KurskOblast"),
    ],
)
def test_a_unique_name_resolves_to_its_entity(index: NameIndex, name: str, iri: str) -> None:
    assert index.resolve(name) == KGD + iri


@pytest.mark.parametrize(
    ("name", "iri"),
    [("speculated", "Speculated"), ("Not Denied", "NotDenied"), ("kg:Denied", "Denied")],
)
def test_a_stance_resolves_by_its_label_within_the_stance_class(
    index: NameIndex, name: str, iri: str
) -> None:
    assert index.resolve(name, within=KG + "Stance") == KG + iri


def test_a_class_restriction_follows_subclasses(index: NameIndex) -> None:
    # kg:Person is a subclass of prov:Agent through prov:Person.
    agent = "http://www.w3.org/ns/prov#Agent"
    assert index.resolve("Mark Rutte", within=agent) == KGD + "MarkRutte"
    assert index.resolve("Meeting", subclass_of=KG + "Event") == KG + "Meeting"
    with pytest.raises(UnknownName, match="no person is named 'Russia'"):
        index.resolve("Russia", within=KG + "Person", what="person")


def test_an_unknown_name_is_an_error_with_at_most_three_nearest_names(index: NameIndex) -> None:
    with pytest.raises(UnknownName) as caught:
        index.resolve("Choe Sun Hui")
    assert isinstance(caught.value, UsageError)
    assert str(caught.value) == (
        "no entity is named 'Choe Sun Hui'; nearest: kgd:ChoeSonHui (Choe Son Hui)"
    )
    with pytest.raises(UnknownName) as part:
        index.resolve("Kim")
    assert 1 <= len(part.value.suggestions) <= 3
    assert KGD + "KimJongUn" in {c.iri for c in part.value.suggestions}
    assert "\n" not in str(part.value)


def test_a_misspelled_curie_is_an_error_with_the_nearest_iri(index: NameIndex) -> None:
    with pytest.raises(UnknownName) as caught:
        index.resolve("kgd:ChoeSonHu")
    assert str(caught.value) == (
        "kgd:ChoeSonHu is not a known entity; nearest: kgd:ChoeSonHui (Choe Son Hui)"
    )
    with pytest.raises(UnknownName, match="kg:Stanse is not a known stance"):
        index.resolve("kg:Stanse", within=KG + "Stance", what="stance")


def test_an_ambiguous_name_lists_every_candidate_with_its_label(index: NameIndex) -> None:
    copy = NameIndex.scan(index.store) if index.complete else NameIndex.from_store(index.store)
    copy.add(KGD + "KimJongUnSenior", "Kim Jong-Un", types={KG + "Person"})
    with pytest.raises(AmbiguousName) as caught:
        copy.resolve("kim jong un")
    assert [c.iri for c in caught.value.candidates] == [KGD + "KimJongUn", KGD + "KimJongUnSenior"]
    assert str(caught.value) == (
        "'kim jong un' names 2 things: kgd:KimJongUn (Kim Jong Un), "
        "kgd:KimJongUnSenior (Kim Jong-Un); write one of these IRIs instead"
    )


def test_normal_form_ignores_case_accents_punctuation_and_spacing() -> None:
    assert normal("Yoon Suk-Yeol") == normal("YOON  suk yeol") == "yoonsukyeol"
    assert normal("Ĉoe, Son-Hŭi!") == "coesonhui"
