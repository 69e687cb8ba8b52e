"""Synthetic graphs shaped like the article's, at any size, deterministic from a seed.

One synthetic *article* repeats the shapes of ``data/article.ttl``: a news article with 20
sentences, 66 claims (each with a stance, an attribution, the sentence and document it was
read in, what it is about; some dated, reified, qualified, conflicting), three estimates
that extend ``kg:supersededBy`` chains across articles, two quotations, one conditional
statement, the events the claims are about (visits, talks, a summit, a deployment, a
materiel transfer, a cabinet meeting, speech acts, hypothetical events), and the world it
grows: officials with posts and tenures, cities and districts in ``kg:locatedIn`` chains.
A fixed world of states (ministries, heads of state, armed forces, regions, continents),
news agencies and code lists comes first, scaled to the size asked for.

Every IRI is ``kgd:syn-...``, so the synthetic data never collides with the curated files.
The graph conforms to ``ontology/shapes.ttl`` (``tests/test_bench_generator.py`` checks it
with ``kgraph validate``). Output is N-Triples, one triple per line, no duplicates; the
line count equals the size asked for exactly (small place records fill the last gap).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

GENERATOR_VERSION = 2
"""Bumped whenever the output for a given (size, seed) changes; cached graphs are rebuilt."""

KGD = "https://w3id.org/kgraph/id/syn-"
KG = "https://w3id.org/kgraph/ontology#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
ORG = "http://www.w3.org/ns/org#"
SCHEMA = "http://schema.org/"
DCTERMS = "http://purl.org/dc/terms/"
TIME = "http://www.w3.org/2006/time#"

A = f"<{RDF}type>"
LABEL = f"<{SKOS}prefLabel>"
ALT = f"<{SKOS}altLabel>"

STANCES = (
    "Accused",
    "Condemned",
    "Confirmed",
    "Denied",
    "Expected",
    "NotDenied",
    "NotDisclosed",
    "Presupposed",
    "Reported",
    "Speculated",
    "Stated",
)  # Quoted and Conditional go to quotations and conditional statements
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WORDS = [
    "foreign",
    "minister",
    "visit",
    "talks",
    "troops",
    "deployment",
    "region",
    "security",
    "cooperation",
    "sanctions",
    "statement",
    "agency",
    "report",
    "officials",
    "border",
    "summit",
    "treaty",
    "dialogue",
    "missiles",
    "shells",
    "support",
    "training",
    "pressure",
    "attention",
    "government",
    "spokesperson",
    "president",
    "council",
    "delegation",
    "capital",
    "agreement",
    "partnership",
    "strategic",
    "military",
    "international",
    "bilateral",
    "exchange",
    "views",
    "situation",
    "escalation",
    "war",
    "weapons",
    "restrictions",
    "estimate",
    "soldiers",
    "sent",
    "killed",
    "injured",
    "confirmed",
    "said",
    "reported",
    "denied",
    "speculated",
    "expected",
    "condemned",
    "accused",
    "according",
    "sources",
    "meeting",
    "cabinet",
    "remarks",
    "vigilant",
    "risks",
    "dangerous",
    "closely",
    "monitor",
    "increasing",
    "desperation",
    "week",
    "month",
    "year",
    "second",
    "first",
    "high",
    "level",
    "deputy",
    "heads",
    "units",
    "deepen",
    "discussions",
    "important",
    "areas",
    "diplomacy",
]
GIVEN = [
    "Ana",
    "Boris",
    "Chen",
    "Dana",
    "Emil",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Jin",
    "Kofi",
    "Lena",
    "Min",
    "Nadia",
    "Oleg",
    "Park",
    "Rosa",
    "Sven",
    "Tariq",
    "Yuna",
]
FAMILY = [
    "Abe",
    "Bauer",
    "Choi",
    "Diaz",
    "Eriksen",
    "Fong",
    "Garcia",
    "Hong",
    "Ito",
    "Jovic",
    "Kim",
    "Lee",
    "Moreau",
    "Novak",
    "Osei",
    "Petrov",
    "Ruiz",
    "Sato",
    "Tan",
    "Ueda",
]

START = date(2015, 1, 1)
"""Article k is issued START + 2k days: dates grow with k, so estimate chains stay ordered."""


@dataclass
class Handles:
    """IRIs of the generated graph that the 100-triple batch links to."""

    state: str = ""
    other_state: str = ""
    person: str = ""
    post: str = ""
    region: str = ""
    agency: str = ""
    document: str = ""
    armed_force: str = ""
    materiel: str = ""
    topic: str = ""
    role: str = ""
    current_estimate: str = ""
    quantity: str = ""
    current_date: str = ""


@dataclass
class Summary:
    """What was generated: written beside the graph as ``synthetic.json``."""

    triples: int
    seed: int
    version: int
    articles: int
    claims: int
    filler: int
    handles: Handles = field(default_factory=Handles)


def iri(local: str) -> str:
    return f"<{KGD}{local}>"


def term(namespace: str, local: str) -> str:
    return f"<{namespace}{local}>"


def en(text: str) -> str:
    return f'"{text}"@en'


def typed(value: object, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


def day(d: date) -> str:
    return typed(d.isoformat(), "date")


class _Writer:
    """Buffers N-Triples lines and counts them."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, s: str, p: str, o: str) -> None:
        self.lines.append(f"{s} {p} {o} .\n")

    def __len__(self) -> int:
        return len(self.lines)


class _Generator:
    def __init__(self, triples: int, seed: int) -> None:
        self.target = triples
        self.seed = seed
        self.rng = random.Random(seed)
        self.out = _Writer()
        self.handles = Handles()
        self.states: list[str] = []
        self.regions: list[tuple[str, str]] = []  # (region, its state)
        self.ministries: dict[str, str] = {}
        self.forces: dict[str, str] = {}
        self.agencies: list[str] = []
        self.materiel: list[str] = []
        self.topics: list[str] = []
        self.units: list[str] = []
        self.quantities: list[str] = []
        self.latest: dict[str, tuple[str, date]] = {}  # quantity -> (latest estimate, its date)
        self.estimates: list[str] = []
        self.articles = 0
        self.claims = 0
        self.people: list[tuple[str, str]] = []  # (person, post)
        self.previous_claims: list[str] = []

    # -- the fixed world ------------------------------------------------------------------

    def world(self) -> None:
        t = self.out
        n_states = max(4, min(150, self.target // 6000))
        continents = [iri(f"continent-{i}") for i in range(max(1, n_states // 10))]
        for i, c in enumerate(continents):
            t(c, A, term(KG, "Region"))
            t(c, LABEL, en(f"Continent {i}"))
        for code, kind, items in (
            ("unit", "Unit", ["soldier", "artillery shell", "missile"]),
            (
                "materiel",
                "MaterielType",
                ["artillery shells", "ballistic missiles", "drones", "military technology", "fuel"],
            ),
            (
                "topic",
                "Topic",
                ["security", "diplomacy", "trade", "energy", "deepening cooperation"],
            ),
        ):
            scheme = iri(f"{code}-scheme")
            t(scheme, A, term(SKOS, "ConceptScheme"))
            t(scheme, LABEL, en(f"Synthetic {code} list"))
            for j, name in enumerate(items):
                node = iri(f"{code}-{j}")
                t(node, A, term(KG, kind))
                t(node, LABEL, en(name))
                t(node, term(SKOS, "inScheme"), scheme)
                {"unit": self.units, "materiel": self.materiel, "topic": self.topics}[code].append(
                    node
                )
        role = iri("role-spokesperson")
        t(role, A, term(ORG, "Role"))
        t(role, LABEL, en("spokesperson"))
        self.handles.role = role
        for i in range(n_states):
            state = iri(f"state-{i}")
            self.states.append(state)
            t(state, A, term(KG, "State"))
            t(state, LABEL, en(f"State {i}"))
            t(state, ALT, en(f"Republic of State {i}"))
            t(state, term(KG, "locatedIn"), continents[i % len(continents)])
            ministry = iri(f"ministry-{i}")
            t(ministry, A, term(KG, "GovernmentBody"))
            t(ministry, LABEL, en(f"Ministry of Foreign Affairs of State {i}"))
            t(ministry, term(KG, "country"), state)
            self.ministries[state] = ministry
            post = iri(f"post-head-{i}")
            t(post, A, term(KG, "Post"))
            t(post, LABEL, en(f"President of State {i}"))
            t(post, term(ORG, "postIn"), state)
            force = iri(f"force-{i}")
            t(force, A, term(KG, "ArmedForce"))
            t(force, LABEL, en(f"Troops of State {i}"))
            t(force, term(KG, "armedForceOf"), state)
            self.forces[state] = force
            for j in range(2):
                region = iri(f"region-{i}-{j}")
                t(region, A, term(KG, "Region"))
                t(region, LABEL, en(f"Region {j} of State {i}"))
                t(region, term(KG, "locatedIn"), state)
                self.regions.append((region, state))
            if i % 2 == 1:
                agency = iri(f"agency-{i}")
                t(agency, A, term(KG, "NewsAgency"))
                t(agency, LABEL, en(f"News Agency of State {i}"))
                t(agency, term(KG, "country"), state)
                self.agencies.append(agency)
            if i % 5 == 4:
                t(state, term(KG, "atWarWith"), self.states[i - 1])
        for k in range(max(2, n_states // 2)):
            quantity = self._quantity(k)
            self.quantities.append(quantity)
        h = self.handles
        h.state, h.other_state = self.states[0], self.states[1]
        h.region, h.agency = self.regions[0][0], self.agencies[0]
        h.armed_force, h.materiel, h.topic = self.forces[h.state], self.materiel[0], self.topics[0]

    def _quantity(self, k: int) -> str:
        t = self.out
        q = iri(f"quantity-{k}")
        t(q, A, term(KG, "Quantity"))
        t(q, LABEL, en(f"Soldiers sent abroad, series {k}"))
        t(q, term(KG, "unit"), self.units[k % len(self.units)])
        return q

    # -- one article ----------------------------------------------------------------------

    def text(self, n: int) -> str:
        words = [self.rng.choice(WORDS) for _ in range(n)]
        return " ".join(words).capitalize() + "."

    def article(self, k: int) -> None:
        t, rng = self.out, self.rng
        issued = START + timedelta(days=2 * k)
        doc = iri(f"article-{k}")
        agency = self.agencies[k % len(self.agencies)]
        t(doc, A, term(KG, "NewsArticle"))
        t(doc, LABEL, en(f"Synthetic news article {k}"))
        t(doc, term(SCHEMA, "url"), f"<https://example.org/syn/news/{k}>")
        t(doc, term(DCTERMS, "issued"), day(issued))
        t(doc, term(DCTERMS, "publisher"), agency)
        t(doc, term(DCTERMS, "language"), typed("en", "language"))

        s1, s2 = rng.sample(self.states, 2)
        # officials: two new people, each with a post and a tenure
        people = []
        for j in range(2):
            person, post, tenure = (
                iri(f"person-{k}-{j}"),
                iri(f"post-{k}-{j}"),
                iri(f"tenure-{k}-{j}"),
            )
            state = s1 if j == 0 else s2
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            t(person, A, term(KG, "Person"))
            t(person, LABEL, en(f"{name} {k}-{j}"))
            t(person, ALT, en(name))
            t(person, term(SCHEMA, "gender"), term(SCHEMA, rng.choice(("Female", "Male"))))
            t(person, term(ORG, "holds"), post)
            t(person, term(PROV, "actedOnBehalfOf"), self.ministries[state])
            t(post, A, term(KG, "Post"))
            number = state.removeprefix(f"<{KGD}state-").removesuffix(">")
            t(post, LABEL, en(f"Deputy Foreign Minister {k}-{j} of State {number}"))
            t(post, term(ORG, "postIn"), self.ministries[state])
            t(tenure, A, term(KG, "Tenure"))
            t(tenure, LABEL, en(f"{name} as deputy foreign minister"))
            t(tenure, term(ORG, "member"), person)
            t(tenure, term(KG, "post"), post)
            t(tenure, term(KG, "startDate"), day(issued - timedelta(days=400 + rng.randrange(900))))
            t(tenure, term(DCTERMS, "source"), doc)
            people.append(person)
            self.people.append((person, post))
        p1, p2 = people
        attribution = iri(f"attribution-{k}")
        t(attribution, A, term(KG, "Attribution"))
        t(attribution, LABEL, en(f"Person {k}-1 speaking for their ministry"))
        t(attribution, term(PROV, "agent"), p2)
        t(attribution, term(PROV, "hadRole"), self.handles.role)

        # places: a city in a region, a district in the city (locatedIn chains of depth 4)
        region, _ = self.regions[rng.randrange(len(self.regions))]
        city, district = iri(f"city-{k}"), iri(f"district-{k}")
        t(city, A, term(KG, "City"))
        t(city, LABEL, en(f"City {k}"))
        t(city, term(KG, "locatedIn"), region)
        t(district, A, term(KG, "Region"))
        t(district, LABEL, en(f"District {k}"))
        t(district, term(KG, "locatedIn"), city)

        sentences = []
        for n in range(1, 21):
            s = iri(f"article-{k}-s{n:02d}")
            t(s, A, term(KG, "Sentence"))
            t(s, LABEL, en(f"Sentence {n} of synthetic article {k}"))
            t(s, term(KG, "inDocument"), doc)
            t(s, term(KG, "sentenceNumber"), typed(n, "integer"))
            t(s, term(SCHEMA, "text"), en(self.text(18 + rng.randrange(16))))
            sentences.append(s)

        # events
        ev = {
            name: iri(f"{name}-{k}")
            for name in (
                "visit",
                "talks",
                "earlier-visit",
                "summit",
                "agreement",
                "deployment",
                "transfer",
                "cabinet-meeting",
                "escalation",
                "consequence",
                "statement-0",
                "statement-1",
                "statement-2",
            )
        }
        actual = term(KG, "Actual")
        mod = term(KG, "modality")
        part = term(KG, "participant")

        def event(node: str, kind: str, label: str) -> None:
            t(node, A, term(KG, kind))
            t(node, LABEL, en(label))

        event(ev["visit"], "Visit", f"Visit {k} of person {k}-0")
        t(ev["visit"], mod, actual)
        t(ev["visit"], term(KG, "visitor"), p1)
        t(ev["visit"], term(KG, "destination"), s2)
        t(ev["visit"], term(KG, "startDate"), day(issued - timedelta(days=1)))
        t(
            ev["visit"],
            term(KG, "dayOfWeek"),
            term(TIME, DAYS[(issued - timedelta(days=1)).weekday()]),
        )
        t(ev["visit"], term(KG, "dateSurfaceForm"), en("on Monday"))
        event(ev["talks"], "Talks", f"High-level talks during visit {k}")
        t(ev["talks"], mod, actual)
        t(ev["talks"], part, p1)
        t(ev["talks"], part, s1)
        t(ev["talks"], part, s2)
        t(ev["talks"], term(KG, "subEventOf"), ev["visit"])
        t(ev["talks"], term(KG, "purpose"), rng.choice(self.topics))
        event(ev["earlier-visit"], "Visit", f"Earlier trip {k} of person {k}-0")
        t(ev["earlier-visit"], mod, actual)
        t(ev["earlier-visit"], term(KG, "visitor"), p1)
        t(ev["earlier-visit"], term(KG, "destination"), city)
        t(ev["earlier-visit"], term(KG, "startDate"), day(issued - timedelta(days=43)))
        t(ev["earlier-visit"], term(KG, "precedes"), ev["visit"])
        event(ev["summit"], "Summit", f"Summit {k}")
        t(ev["summit"], mod, actual)
        t(ev["summit"], part, s1)
        t(ev["summit"], part, s2)
        t(ev["summit"], term(KG, "month"), typed(f"{issued.year}-{issued.month:02d}", "gYearMonth"))
        t(ev["summit"], term(KG, "resultedIn"), ev["agreement"])
        t(ev["agreement"], A, term(KG, "Agreement"))
        t(ev["agreement"], LABEL, en(f"Agreement of summit {k}"))
        t(ev["agreement"], term(KG, "party"), s1)
        t(ev["agreement"], term(KG, "party"), s2)
        t(ev["agreement"], term(KG, "signedOn"), day(issued - timedelta(days=5)))
        event(ev["deployment"], "MilitaryDeployment", f"Deployment {k}")
        t(ev["deployment"], mod, actual)
        t(ev["deployment"], term(KG, "sendingState"), s1)
        t(ev["deployment"], term(KG, "forces"), self.forces[s1])
        t(ev["deployment"], term(KG, "destination"), region)
        event(ev["transfer"], "MaterielTransfer", f"Materiel transfer {k}")
        t(ev["transfer"], mod, actual)
        t(ev["transfer"], term(KG, "supplier"), s1)
        t(ev["transfer"], term(KG, "recipient"), s2)
        t(ev["transfer"], term(KG, "materiel"), rng.choice(self.materiel))
        event(ev["cabinet-meeting"], "CabinetMeeting", f"Cabinet meeting {k}")
        t(ev["cabinet-meeting"], mod, actual)
        t(ev["cabinet-meeting"], part, p2)
        t(ev["cabinet-meeting"], term(KG, "date"), day(issued - timedelta(days=1)))
        event(ev["escalation"], "Event", f"Possible escalation {k}")
        t(ev["escalation"], mod, term(KG, "Hypothetical"))
        event(ev["consequence"], "Event", f"Possible consequence {k}")
        t(ev["consequence"], mod, term(KG, "Hypothetical"))
        t(ev["consequence"], part, s2)
        speakers = [p2, self.ministries[s1], agency]
        for j in range(3):
            node = ev[f"statement-{j}"]
            event(node, "SpeechAct", f"Statement {j} of article {k}")
            t(node, mod, actual)
            t(node, part, speakers[j])
            t(node, term(KG, "date"), day(issued - timedelta(days=j)))

        # claims
        subjects = [
            ev["visit"],
            ev["talks"],
            ev["summit"],
            ev["deployment"],
            ev["transfer"],
            ev["cabinet-meeting"],
            ev["agreement"],
            p1,
            p2,
            s1,
            s2,
            city,
            region,
        ]
        plain = [  # triples asserted above that a claim can name (rdf:subject/predicate/object)
            (p1, term(ORG, "holds"), self.people[-2][1]),
            (ev["visit"], term(KG, "visitor"), p1),
            (ev["deployment"], term(KG, "destination"), region),
            (city, term(KG, "locatedIn"), region),
            (ev["transfer"], term(KG, "supplier"), s1),
        ]
        this_claims = []
        for n in range(1, 67):
            c = iri(f"claim-{k}-{n:02d}")
            this_claims.append(c)
            kind = "Claim"
            if n in (45, 49, 56):
                kind = "Estimate"
            elif n in (53, 60):
                kind = "Quotation"
            elif n == 54:
                kind = "ConditionalStatement"
            sentence = sentences[(n - 1) * 20 // 66]
            t(c, A, term(KG, kind))
            t(c, LABEL, en(f"F{n:02d} of synthetic article {k}"))
            t(c, term(KG, "factId"), f'"F{n:02d}"')
            stance = {"Quotation": "Quoted", "ConditionalStatement": "Conditional"}.get(
                kind
            ) or rng.choice(STANCES)
            t(c, term(KG, "stance"), term(KG, stance))
            speaker = rng.choice(speakers) if rng.random() < 0.5 else agency
            t(c, term(PROV, "wasAttributedTo"), speaker)
            t(c, term(KG, "sourceSentence"), sentence)
            t(c, term(SCHEMA, "appearance"), doc)
            for about in rng.sample(subjects, 1 + int(rng.random() < 0.3)):
                t(c, term(KG, "about"), about)
            if rng.random() < 0.5:
                t(c, term(KG, "assertedOn"), day(issued - timedelta(days=rng.randrange(3))))
            if rng.random() < 0.4:
                t(c, term(PROV, "wasGeneratedBy"), ev[f"statement-{rng.randrange(3)}"])
            if rng.random() < 0.35:
                s, p, o = rng.choice(plain)
                t(c, term(RDF, "subject"), s)
                t(c, term(RDF, "predicate"), p)
                t(c, term(RDF, "object"), o)
            if rng.random() < 0.1:
                t(c, term(PROV, "qualifiedAttribution"), attribution)
            if rng.random() < 0.05:
                t(c, term(KG, "firstPublic"), typed("true", "boolean"))
            if rng.random() < 0.1:
                t(
                    c,
                    term(KG, "characterisation"),
                    en(rng.choice(("illegal", "very dangerous", "serious threat"))),
                )
            if rng.random() < 0.1:
                t(c, term(KG, "target"), rng.choice((s1, s2)))
            if self.previous_claims and rng.random() < 0.03:
                t(c, term(KG, "conflictsWith"), rng.choice(self.previous_claims))
            if kind == "Estimate":
                self.estimate(c, k, issued)
            elif kind == "Quotation":
                t(c, term(SCHEMA, "text"), en(self.text(8)))
                t(c, term(KG, "speaker"), p2)
            elif kind == "ConditionalStatement":
                t(c, term(KG, "condition"), ev["escalation"])
                t(c, term(KG, "consequence"), ev["consequence"])
        self.claims += 66
        self.articles += 1
        self.previous_claims = this_claims
        h = self.handles
        h.person, h.post = self.people[-1]
        h.document = doc

    def estimate(self, c: str, k: int, issued: date) -> None:
        t, rng = self.out, self.rng
        if k % 2 == 0 and rng.random() < 0.5:
            self.quantities.append(self._quantity(len(self.quantities)))
        recent = self.quantities[-20:]
        q = recent[rng.randrange(len(recent))]
        t(c, term(KG, "estimateOf"), q)
        if rng.random() < 0.8:
            t(c, term(KG, "count"), typed(1000 * (1 + rng.randrange(50)), "integer"))
        else:
            t(c, term(KG, "countMin"), typed(100000 * (1 + rng.randrange(9)), "integer"))
            t(c, term(KG, "countQualifier"), term(KG, rng.choice(("AtLeast", "MoreThan"))))
        t(c, term(KG, "estimateDate"), day(issued))
        previous = self.latest.get(q)
        if previous is not None:
            t(previous[0], term(KG, "supersededBy"), c)
            t(c, term(KG, "supersedes"), previous[0])
        self.latest[q] = (c, issued)
        self.estimates.append(c)

    # -- filling the last gap, and the end ------------------------------------------------

    def fill(self, remaining: int) -> int:
        """Gazetteer records (3 triples), then alternative labels (1), to hit the count."""
        t = self.out
        n = 0
        while remaining >= 3:
            city = iri(f"place-{n}")
            region, _ = self.regions[n % len(self.regions)]
            t(city, A, term(KG, "City"))
            t(city, LABEL, en(f"Town {n}"))
            t(city, term(KG, "locatedIn"), region)
            remaining -= 3
            n += 1
        for j in range(remaining):
            t(self.states[j % len(self.states)], ALT, en(f"State alias {j}"))
        return n * 3 + remaining

    def run(self) -> Summary:
        self.world()
        per_article = 1500  # above the largest possible article (typically about 950 triples)
        k = 0
        while self.target - len(self.out) - 3 >= per_article:
            self.article(k)
            k += 1
        filler = self.fill(self.target - len(self.out))
        # Which estimate is current is derived (the latest that nothing supersedes), as in
        # the shipped data: nothing asserts it.
        for q, (c, when) in self.latest.items():
            if q == self.latest_quantity():
                self.handles.current_estimate, self.handles.quantity = c, q
                self.handles.current_date = when.isoformat()
        return Summary(
            len(self.out),
            self.seed,
            GENERATOR_VERSION,
            self.articles,
            self.claims,
            filler,
            self.handles,
        )

    def latest_quantity(self) -> str | None:
        return next(reversed(self.latest), None)


def generate(path: Path, triples: int, seed: int) -> Summary:
    """Write a synthetic graph of exactly ``triples`` triples to ``path`` (N-Triples)."""
    if triples < 1500:
        raise ValueError("the generator needs at least 1500 triples (one article and its world)")
    gen = _Generator(triples, seed)
    summary = gen.run()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.writelines(gen.out.lines)
    return summary


def batch(path: Path, summary: Summary) -> int:
    """Write a 100-triple batch (N-Triples) that links into the graph ``summary`` describes:
    a new article with sentences and claims about existing people, states and places, an
    estimate that an existing current one supersedes, a tenure and a new town."""
    h = summary.handles
    lines: list[str] = []

    def t(s: str, p: str, o: str) -> None:
        lines.append(f"{s} {p} {o} .\n")

    issued = date.fromisoformat(h.current_date)
    doc = iri("batch-article")
    t(doc, A, term(KG, "NewsArticle"))
    t(doc, LABEL, en("Synthetic news article of the batch"))
    t(doc, term(SCHEMA, "url"), "<https://example.org/syn/news/batch>")
    t(doc, term(DCTERMS, "issued"), day(issued))
    t(doc, term(DCTERMS, "publisher"), h.agency)
    sentences = []
    for n in range(1, 5):
        s = iri(f"batch-article-s{n}")
        t(s, A, term(KG, "Sentence"))
        t(s, LABEL, en(f"Sentence {n} of the batch article"))
        t(s, term(KG, "inDocument"), doc)
        t(s, term(KG, "sentenceNumber"), typed(n, "integer"))
        t(s, term(SCHEMA, "text"), en(f"The delegation met officials of the region on day {n}."))
        sentences.append(s)
    visit = iri("batch-visit")
    t(visit, A, term(KG, "Visit"))
    t(visit, LABEL, en("Visit reported by the batch article"))
    t(visit, term(KG, "modality"), term(KG, "Actual"))
    t(visit, term(KG, "visitor"), h.person)
    t(visit, term(KG, "destination"), h.region)
    t(visit, term(KG, "startDate"), day(issued))
    estimate = iri("batch-estimate")
    claims = [iri(f"batch-claim-{n}") for n in range(1, 6)] + [estimate]
    for n, c in enumerate(claims):
        t(c, A, term(KG, "Estimate" if c == estimate else "Claim"))
        t(c, LABEL, en(f"Claim {n + 1} of the batch article"))
        t(c, term(KG, "stance"), term(KG, ("Stated", "Reported", "Confirmed")[n % 3]))
        t(c, term(PROV, "wasAttributedTo"), (h.person, h.state, h.agency)[n % 3])
        t(c, term(KG, "sourceSentence"), sentences[n % 4])
        t(c, term(SCHEMA, "appearance"), doc)
        t(c, term(KG, "about"), (visit, h.state, h.region, h.armed_force)[n % 4])
        t(c, term(KG, "assertedOn"), day(issued))
    t(estimate, term(KG, "estimateOf"), h.quantity)
    t(estimate, term(KG, "count"), typed(2500, "integer"))
    t(estimate, term(KG, "estimateDate"), day(issued - timedelta(days=1)))
    t(estimate, term(KG, "supersededBy"), h.current_estimate)
    t(estimate, term(KG, "dateSurfaceForm"), en("the day before"))
    tenure = iri("batch-tenure")
    t(tenure, A, term(KG, "Tenure"))
    t(tenure, LABEL, en("Tenure recorded by the batch"))
    t(tenure, term(ORG, "member"), h.person)
    t(tenure, term(KG, "post"), h.post)
    t(tenure, term(KG, "startDate"), day(issued - timedelta(days=30)))
    t(tenure, term(DCTERMS, "source"), doc)
    town = iri("batch-town")
    t(town, A, term(KG, "City"))
    t(town, LABEL, en("Town of the batch"))
    t(town, term(KG, "locatedIn"), h.region)
    for n in range(100 - len(lines)):
        t(town, ALT, en(f"Batch town alias {n}"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def write_summary(path: Path, summary: Summary) -> None:
    path.write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")


def read_summary(path: Path) -> Summary | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["handles"] = Handles(**raw["handles"])
        return Summary(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None
