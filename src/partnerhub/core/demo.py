"""A believable demo data set: programs, vendor staff, ~200 partners, people and history.

``build_demo()`` (behind ``partnerhub demo``) loads every example program, creates vendor staff
of each role, partners in 15 countries with valid VAT IDs and phone numbers, contacts, users,
status histories, two sub-operators with their children, pending applications and
invitations, all attributed in the audit trail to the demo program admin.

It is idempotent: when the demo admin already exists the partners are left alone (only the
programs are loaded again, which stores nothing when they did not change). Everything random
comes from a fixed seed, so every fresh build has the same companies and people; dates are
relative to the day of the build so the history always looks recent.

Every e-mail address uses the reserved ``.test`` top-level domain, so no action taken in the
demo (approving an application, inviting a user) can reach a real mailbox. Website domains
look like real ones (``nordlicht-ladetechnik.de``); the application never contacts them.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import phonenumbers
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from stdnum import luhn

from partnerhub.accounts.models import PartnerRole, StaffRole, User
from partnerhub.core.audit import acting_as
from partnerhub.partners.models import (
    ContactRole,
    Invitation,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerUser,
    StatusChange,
)
from partnerhub.partners.services import (
    application_submit,
    contact_create,
    partner_create,
    partner_set_status,
)
from partnerhub.partners.validation import normalize_phone, normalize_vat_id
from partnerhub.programs.models import Program
from partnerhub.programs.schema import ProgramInvalid
from partnerhub.programs.services import program_load

DEMO_PASSWORD = "demo-partner-access"
DEMO_DOMAIN = "demo.partnerhub.test"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
PARTNER_ADMIN_EMAIL = f"partner@{DEMO_DOMAIN}"
OPERATOR_ADMIN_EMAIL = f"operator@{DEMO_DOMAIN}"
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "programs"
SEED = 42
VENDOR = "Vendor staff"


class DemoError(Exception):
    """The demo cannot be built (no programs to put partners in, an invalid example...)."""


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    organisation: str


@dataclass(frozen=True)
class LoadedProgram:
    path: str
    key: str
    version: int
    created: bool


@dataclass
class DemoResult:
    created: bool
    programs: list[LoadedProgram] = field(default_factory=list)
    logins: list[DemoLogin] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


# --- vendor staff --------------------------------------------------------------------------

# (e-mail local part, full name, staff role, superuser, regions managed by a partner manager)
STAFF: list[tuple[str, str, str, bool, tuple[str, ...]]] = [
    ("admin", "Miriam Vogt", StaffRole.PROGRAM_ADMIN, True, ()),
    ("programs", "Daniel Okafor", StaffRole.PROGRAM_ADMIN, False, ()),
    ("pm", "Lena Hoffmann", StaffRole.PARTNER_MANAGER, False, ("DE", "AT", "CH", "PL")),
    ("pm2", "Julien Moreau", StaffRole.PARTNER_MANAGER, False, ("FR", "BE", "NL", "ES", "IT")),
    (
        "pm3",
        "Emma Lindqvist",
        StaffRole.PARTNER_MANAGER,
        False,
        ("GB", "US", "SE", "FI", "NO", "DK"),
    ),
    ("finance", "Rafael Costa", StaffRole.FINANCE, False, ()),
    ("viewer", "Priya Raman", StaffRole.VIEWER, False, ()),
]


# --- countries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    code: str
    count: int  # randomly generated partners (named partners and children come on top)
    tld: str
    legal_forms: tuple[str, ...]
    stems: tuple[str, ...]
    trades: tuple[str, ...]
    cities: tuple[tuple[str, str, str], ...]  # city, postal code, region
    streets: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    house_numbers: tuple[int, int] = (1, 180)


# fmt: off
COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in [
        Country(
            "DE",
            28,
            "de",
            ("GmbH", "GmbH", "GmbH", "GmbH & Co. KG", "AG", "UG (haftungsbeschränkt)"),
            ("Nordlicht", "Rheinwerk", "Spreeblick", "Elbtal", "Hanse", "Schwarzwald", "Isar",
             "Mainfeld", "Weser", "Harz", "Bodensee", "Ostsee", "Taunus", "Lausitz"),
            ("Elektrotechnik", "Energiesysteme", "Ladetechnik", "Solartechnik", "Gebäudetechnik",
             "IT-Service", "Systemhaus", "Netzwerk", "Haustechnik"),
            (("Hamburg", "20095", "Hamburg"), ("Berlin", "10115", "Berlin"),
             ("München", "80331", "Bayern"), ("Köln", "50667", "Nordrhein-Westfalen"),
             ("Frankfurt am Main", "60311", "Hessen"), ("Stuttgart", "70173", "Baden-Württemberg"),
             ("Leipzig", "04109", "Sachsen"), ("Hannover", "30159", "Niedersachsen"),
             ("Dortmund", "44135", "Nordrhein-Westfalen")),
            ("Hauptstraße {n}", "Industriestraße {n}", "Am Gewerbepark {n}", "Bahnhofstraße {n}",
             "Gutenbergstraße {n}"),
            ("Anna", "Jonas", "Lukas", "Laura", "Felix", "Julia", "Maximilian", "Sarah", "Tobias",
             "Katharina", "Stefan", "Sabine"),
            ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
             "Schulz", "Koch", "Richter", "Wolf", "Neumann", "Krüger"),
        ),
        Country(
            "FR",
            20,
            "fr",
            ("SAS", "SAS", "SARL", "SA"),
            ("Lumière", "Azur", "Armor", "Rhône", "Loire", "Provence", "Atlantique", "Alpes",
             "Garonne", "Vendée", "Normandie"),
            ("Énergies", "Électricité", "Solutions", "Recharge", "Services", "Systèmes",
             "Informatique", "Bornes"),
            (("Paris", "75008", "Île-de-France"), ("Lyon", "69002", "Auvergne-Rhône-Alpes"),
             ("Marseille", "13001", "Provence-Alpes-Côte d'Azur"),
             ("Toulouse", "31000", "Occitanie"),
             ("Nantes", "44000", "Pays de la Loire"), ("Bordeaux", "33000", "Nouvelle-Aquitaine"),
             ("Lille", "59000", "Hauts-de-France"), ("Rennes", "35000", "Bretagne")),
            ("{n} rue de la République", "{n} avenue Jean Jaurès", "{n} boulevard Haussmann",
             "{n} rue Victor Hugo", "{n} rue de l'Industrie"),
            ("Camille", "Julien", "Léa", "Thomas", "Manon", "Nicolas", "Chloé", "Antoine", "Claire",
             "Mathieu"),
            ("Martin", "Bernard", "Dubois", "Robert", "Richard", "Petit", "Durand", "Leroy",
             "Moreau", "Lefèvre", "Girard", "Fontaine"),
        ),
        Country(
            "NL",
            14,
            "nl",
            ("B.V.", "B.V.", "B.V.", "N.V."),
            ("Polder", "Delta", "Zeeland", "Amstel", "Maas", "Dijk", "Tulp", "Kade", "Veluwe",
             "Waddenzee"),
            ("Energie", "Laadtechniek", "Installatietechniek", "Elektro", "Solutions", "ICT",
             "Techniek"),
            (("Amsterdam", "1012 AB", "Noord-Holland"), ("Rotterdam", "3011 AD", "Zuid-Holland"),
             ("Utrecht", "3511 AX", "Utrecht"), ("Eindhoven", "5611 AB", "Noord-Brabant"),
             ("Groningen", "9711 AA", "Groningen"), ("Den Haag", "2511 BT", "Zuid-Holland")),
            ("Keizersgracht {n}", "Stationsweg {n}", "Industrieweg {n}", "Marconistraat {n}"),
            ("Daan", "Sanne", "Lotte", "Bram", "Femke", "Ruben", "Eva", "Thijs", "Anouk", "Jeroen"),
            ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
             "Smit", "Meijer", "de Boer", "Mulder", "Bos"),
        ),
        Country(
            "GB",
            18,
            "co.uk",
            ("Ltd", "Ltd", "Limited", "PLC", "LLP"),
            ("Thames", "Pennine", "Highland", "Severn", "Cotswold", "Mersey", "Clyde", "Albion",
             "Kestrel", "Wessex", "Solent"),
            ("Electrical", "Energy", "Charging", "Power Systems", "Technologies", "Services",
             "Field Services", "IT"),
            (("London", "EC1V 9HX", "England"), ("Manchester", "M1 1AE", "England"),
             ("Birmingham", "B1 1BB", "England"), ("Leeds", "LS1 4DY", "England"),
             ("Glasgow", "G1 1XQ", "Scotland"), ("Bristol", "BS1 4DJ", "England"),
             ("Edinburgh", "EH1 1YZ", "Scotland"), ("Cardiff", "CF10 1EP", "Wales")),
            ("{n} High Street", "Unit {n}, Riverside Business Park", "{n} Station Road",
             "{n} Church Lane"),
            ("Oliver", "Amelia", "Harry", "Emily", "George", "Charlotte", "James", "Sophie",
             "Thomas", "Hannah"),
            ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Davies",
             "Walker", "Wright", "Hughes", "Clarke"),
        ),
        Country(
            "US",
            22,
            "com",
            ("Inc.", "Inc.", "LLC", "LLC", "Corp."),
            ("Bluewater", "Summit", "Pioneer", "Redwood", "Granite", "Lakeshore", "Prairie",
             "Cascade", "Liberty", "Keystone", "Ironwood", "Frontier"),
            ("Electric", "Energy Solutions", "Charging Networks", "Power", "Technologies",
             "Field Services", "Systems", "Cloud Solutions"),
            (("Austin", "78701", "TX"), ("Denver", "80202", "CO"), ("Seattle", "98101", "WA"),
             ("Chicago", "60601", "IL"), ("Atlanta", "30303", "GA"), ("Boston", "02110", "MA"),
             ("San Jose", "95113", "CA"), ("Phoenix", "85004", "AZ"), ("Columbus", "43215", "OH"),
             ("Raleigh", "27601", "NC")),
            ("{n} Main Street", "{n} Commerce Drive, Suite 200", "{n} Industrial Parkway",
             "{n} Market Street"),
            ("Michael", "Jennifer", "David", "Jessica", "Chris", "Ashley", "Daniel", "Emily",
             "Kevin", "Megan", "Brian", "Rachel"),
            ("Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Taylor",
             "Thomas", "Moore", "Jackson", "Lee"),
            (100, 4999),
        ),
        Country(
            "ES",
            12,
            "es",
            ("S.L.", "S.L.", "S.A."),
            ("Ibérica", "Levante", "Cantábrica", "Mediterráneo", "Sierra", "Tajo", "Guadalquivir",
             "Duero"),
            ("Energía", "Instalaciones Eléctricas", "Soluciones", "Recarga", "Servicios Técnicos",
             "Sistemas"),
            (("Madrid", "28001", "Comunidad de Madrid"), ("Barcelona", "08001", "Cataluña"),
             ("Valencia", "46001", "Comunidad Valenciana"), ("Sevilla", "41001", "Andalucía"),
             ("Bilbao", "48001", "País Vasco"), ("Zaragoza", "50001", "Aragón"),
             ("Málaga", "29001", "Andalucía")),
            ("Calle Mayor, {n}", "Avenida de la Constitución, {n}",
             "Polígono Industrial Norte, nave {n}", "Calle de Alcalá, {n}"),
            ("Lucía", "Javier", "María", "Carlos", "Laura", "Pablo", "Elena", "Alejandro",
             "Carmen", "Sergio"),
            ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
             "Pérez", "Gómez", "Ruiz", "Díaz"),
        ),
        Country(
            "IT",
            12,
            "it",
            ("S.r.l.", "S.r.l.", "S.p.A."),
            ("Adriatica", "Tirrenia", "Dolomiti", "Lombarda", "Vesuvio", "Toscana", "Etna",
             "Appennino"),
            ("Energia", "Impianti Elettrici", "Soluzioni", "Ricarica", "Servizi", "Sistemi"),
            (("Milano", "20121", "Lombardia"), ("Roma", "00184", "Lazio"),
             ("Torino", "10121", "Piemonte"), ("Bologna", "40121", "Emilia-Romagna"),
             ("Firenze", "50123", "Toscana"), ("Napoli", "80133", "Campania"),
             ("Padova", "35122", "Veneto")),
            ("Via Roma {n}", "Corso Italia {n}", "Via Giuseppe Garibaldi {n}",
             "Viale dell'Industria {n}"),
            ("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo",
             "Elena", "Andrea"),
            ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
             "Marino", "Greco", "Bruno", "Gallo"),
        ),
        Country(
            "SE",
            8,
            "se",
            ("AB",),
            ("Norrsken", "Fjäll", "Skärgård", "Mälar", "Göta", "Vättern", "Öresund", "Norrland"),
            ("Energi", "Elteknik", "Laddlösningar", "Installation", "System", "IT-partner"),
            (("Stockholm", "111 22", "Stockholms län"), ("Göteborg", "411 03", "Västra Götaland"),
             ("Malmö", "211 20", "Skåne"), ("Uppsala", "753 20", "Uppsala län"),
             ("Västerås", "722 15", "Västmanland"), ("Linköping", "582 24", "Östergötland")),
            ("Drottninggatan {n}", "Storgatan {n}", "Industrivägen {n}", "Kungsgatan {n}"),
            ("Erik", "Anna", "Lars", "Maria", "Johan", "Karin", "Anders", "Sofia", "Oskar", "Elin"),
            ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
             "Persson", "Svensson", "Berglund"),
        ),
        Country(
            "FI",
            8,
            "fi",
            ("Oy", "Oy", "Oyj"),
            ("Revontuli", "Saimaa", "Lappi", "Karjala", "Pohjola", "Aalto", "Kaleva"),
            ("Energia", "Sähkö", "Lataus", "Palvelut", "Tekniikka", "Järjestelmät"),
            (("Helsinki", "00100", "Uusimaa"), ("Espoo", "02100", "Uusimaa"),
             ("Tampere", "33100", "Pirkanmaa"), ("Turku", "20100", "Varsinais-Suomi"),
             ("Oulu", "90100", "Pohjois-Pohjanmaa")),
            ("Mannerheimintie {n}", "Teollisuustie {n}", "Hämeenkatu {n}", "Aleksanterinkatu {n}"),
            ("Mikko", "Aino", "Juha", "Laura", "Jussi", "Emilia", "Antti", "Hanna", "Ville",
             "Sanna"),
            ("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine",
             "Heikkinen", "Koskinen", "Järvinen"),
        ),
        Country(
            "NO",
            8,
            "no",
            ("AS", "AS", "ASA"),
            ("Fjord", "Nordkapp", "Vestland", "Trolltind", "Lofoten", "Viking", "Hardanger"),
            ("Energi", "Elektro", "Lading", "Installasjon", "Teknikk", "Service"),
            (("Oslo", "0150", "Oslo"), ("Bergen", "5003", "Vestland"),
             ("Trondheim", "7011", "Trøndelag"), ("Stavanger", "4006", "Rogaland"),
             ("Tromsø", "9008", "Troms")),
            ("Karl Johans gate {n}", "Strandgata {n}", "Industriveien {n}", "Storgata {n}"),
            ("Ole", "Ingrid", "Lars", "Kari", "Henrik", "Silje", "Magnus", "Nora", "Eirik",
             "Hanne"),
            ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
             "Kristiansen", "Jensen", "Berg"),
        ),
        Country(
            "DK",
            8,
            "dk",
            ("ApS", "ApS", "A/S"),
            ("Kattegat", "Jylland", "Øresund", "Fyn", "Limfjord", "Bornholm", "Skagen"),
            ("Energi", "El-teknik", "Ladeløsninger", "Installation", "Service", "IT"),
            (("København", "1050", "Hovedstaden"), ("Aarhus", "8000", "Midtjylland"),
             ("Odense", "5000", "Syddanmark"), ("Aalborg", "9000", "Nordjylland"),
             ("Esbjerg", "6700", "Syddanmark")),
            ("Vesterbrogade {n}", "Industrivej {n}", "Havnegade {n}", "Nørregade {n}"),
            ("Mads", "Sofie", "Frederik", "Ida", "Rasmus", "Emma", "Mikkel", "Freja", "Anders",
             "Mette"),
            ("Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen",
             "Sørensen", "Rasmussen", "Jørgensen"),
        ),
        Country(
            "BE",
            8,
            "be",
            ("BV", "SRL", "NV", "SA"),
            ("Schelde", "Ardennes", "Brabant", "Meuse", "Flandria", "Sonian", "Kempen"),
            ("Energy", "Elektro", "Solutions", "Charging", "Techniek", "Services"),
            (("Bruxelles", "1000", "Brussels-Capital"), ("Antwerpen", "2000", "Flanders"),
             ("Gent", "9000", "Flanders"), ("Liège", "4000", "Wallonia"),
             ("Leuven", "3000", "Flanders"), ("Namur", "5000", "Wallonia")),
            ("Rue de la Loi {n}", "Meir {n}", "Industrieweg {n}", "Avenue Louise {n}"),
            ("Lucas", "Emma", "Noah", "Louise", "Arthur", "Marie", "Wout", "Elise", "Maxime",
             "Charlotte"),
            ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Dubois",
             "Lambert", "Dupont"),
        ),
        Country(
            "AT",
            6,
            "at",
            ("GmbH", "GmbH", "AG", "KG"),
            ("Donau", "Tirol", "Wienerwald", "Salzach", "Steirer", "Wachau", "Kärntner"),
            ("Elektrotechnik", "Energie", "Ladesysteme", "Haustechnik", "IT-Systeme"),
            (("Wien", "1010", "Wien"), ("Graz", "8010", "Steiermark"),
             ("Linz", "4020", "Oberösterreich"), ("Salzburg", "5020", "Salzburg"),
             ("Innsbruck", "6020", "Tirol"), ("Klagenfurt", "9020", "Kärnten")),
            ("Mariahilfer Straße {n}", "Landstraße {n}", "Industriestraße {n}", "Hauptplatz {n}"),
            ("Florian", "Lisa", "Lukas", "Katharina", "David", "Magdalena", "Matthias", "Theresa",
             "Markus", "Elisabeth"),
            ("Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner", "Moser", "Mayer",
             "Hofer", "Leitner"),
        ),
        Country(
            "PL",
            10,
            "pl",
            ("Sp. z o.o.", "Sp. z o.o.", "S.A."),
            ("Wisła", "Bałtyk", "Tatry", "Mazowsze", "Odra", "Warta", "Karkonosze"),
            ("Energia", "Elektro", "Systemy", "Instalacje", "Serwis", "Technologie"),
            (("Warszawa", "00-001", "mazowieckie"), ("Kraków", "30-001", "małopolskie"),
             ("Wrocław", "50-001", "dolnośląskie"), ("Gdańsk", "80-001", "pomorskie"),
             ("Poznań", "60-001", "wielkopolskie"), ("Łódź", "90-001", "łódzkie")),
            ("ul. Marszałkowska {n}", "ul. Przemysłowa {n}", "al. Jerozolimskie {n}",
             "ul. Długa {n}"),
            ("Piotr", "Anna", "Tomasz", "Katarzyna", "Paweł", "Magdalena", "Michał", "Agnieszka",
             "Krzysztof", "Joanna"),
            ("Nowak", "Wójcik", "Kowalczyk", "Mazur", "Krawczyk", "Zając", "Król", "Wróbel",
             "Dudek", "Pawlak"),
        ),
        Country(
            "CH",
            8,
            "ch",
            ("AG", "AG", "GmbH", "SA", "Sàrl"),
            ("Helvetia", "Matterhorn", "Léman", "Rigi", "Säntis", "Aare", "Jura"),
            ("Energie", "Elektro", "Ladesysteme", "Technik", "Solutions", "Informatik"),
            (("Zürich", "8001", "ZH"), ("Genève", "1201", "GE"), ("Basel", "4051", "BS"),
             ("Bern", "3011", "BE"), ("Lausanne", "1003", "VD"), ("Luzern", "6003", "LU")),
            ("Bahnhofstrasse {n}", "Rue du Rhône {n}", "Industriestrasse {n}", "Seestrasse {n}"),
            ("Luca", "Nina", "Simon", "Laura", "Reto", "Sandra", "Marco", "Claudia", "Beat",
             "Céline"),
            ("Müller", "Meier", "Schmid", "Keller", "Weber", "Brunner", "Baumann", "Frei",
             "Favre", "Gerber"),
        ),
    ]
}
# fmt: on

# Named partners whose admins get a known login; the sub-operators manage the children.
# (legal name, country, city index, login e-mail, admin name, children's countries)
NAMED: list[tuple[str, str, int, str, str, tuple[str, ...]]] = [
    ("Nordlicht Ladetechnik GmbH", "DE", 0, PARTNER_ADMIN_EMAIL, "Katrin Albers", ()),
    (
        "Alpenstrom Ladenetz GmbH",
        "AT",
        4,
        OPERATOR_ADMIN_EMAIL,
        "Florian Huber",
        ("AT", "AT", "DE", "CH"),
    ),
    ("Nordic Charge Partners AB", "SE", 0, "", "Sofia Berglund", ("NO", "FI", "DK")),
]

US_AREA_CODES = ("512", "303", "206", "312", "404", "617", "408", "602", "614", "919")
# Ofcom's numbers reserved for drama: 020 7946 0xxx, 0113 496 0xxx, 0161 496 0xxx...
GB_DRAMA_PREFIXES = ("+442079460", "+441134960", "+441614960", "+441314960", "+441174960")

STATUS_REASONS = {
    "created_active": (
        "Partner agreement signed",
        "Migrated from the previous partner portal",
        "Signed at the annual partner summit",
    ),
    "applied": (
        "Application received through the partner portal",
        "Referred by a distributor; application received",
        "Application submitted after a trade-show meeting",
    ),
    "approved": (
        "Onboarding call done, agreement countersigned",
        "References checked, application approved",
        "Approved after credit check",
    ),
    "suspended": (
        "Partner agreement renewal overdue",
        "Invoices more than 90 days overdue",
        "Required certifications lapsed",
    ),
    "reactivated": ("Renewal signed, access restored", "Overdue invoices settled"),
    "terminated": (
        "Company ceased trading",
        "Agreement ended by mutual consent",
        "Acquired by a competitor's reseller",
        "Repeated breach of the brand guidelines",
    ),
}

APPLICATION_MESSAGES = (
    "We install wallboxes for housing associations and would like to add your product line.",
    "Our field engineers already service your equipment for two of our customers.",
    "We are a regional IT reseller expanding into e-mobility and facility software.",
    "Looking for a distribution agreement for the Nordics; happy to share references.",
    "We run 40 service vans and want to resell your software to our customers.",
)


# --- deterministic generators --------------------------------------------------------------

_TRANSLIT = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ł": "l", "Ł": "L", "œ": "oe", "&": " "}
)


def slugify_ascii(value: str, sep: str = "-") -> str:
    """``Öresund El-teknik`` → ``oresund-el-teknik`` (plain ASCII for domains and e-mails)."""
    value = unicodedata.normalize("NFKD", value.translate(_TRANSLIT))
    value = value.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", sep, value).strip(sep)


def _digits(rng: random.Random, n: int, *, first_nonzero: bool = True) -> str:
    first = str(rng.randint(1, 9) if first_nonzero else rng.randint(0, 9))
    return first + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


# country → () -> (prefix, number of check digits to search, suffix)
_VAT_FORMATS: dict[str, Callable[[random.Random], tuple[str, int, str]]] = {
    "AT": lambda r: ("ATU" + _digits(r, 7), 1, ""),
    "BE": lambda r: ("BE0" + _digits(r, 7), 2, ""),
    "DE": lambda r: ("DE" + _digits(r, 8), 1, ""),
    "DK": lambda r: ("DK" + _digits(r, 7), 1, ""),
    "ES": lambda r: ("ESB" + _digits(r, 7, first_nonzero=False), 1, ""),
    "FI": lambda r: ("FI" + _digits(r, 7), 1, ""),
    "IT": lambda r: ("IT" + _digits(r, 7) + f"{r.randint(1, 100):03d}", 1, ""),
    "NL": lambda r: ("NL" + _digits(r, 8), 1, "B01"),
    "PL": lambda r: ("PL" + _digits(r, 9), 1, ""),
    "SE": lambda r: ("SE556" + _digits(r, 6, first_nonzero=False), 1, "01"),
    "GB": lambda r: ("GB" + _digits(r, 7), 2, ""),
    "NO": lambda r: ("NO9" + _digits(r, 7, first_nonzero=False), 1, "MVA"),
    "CH": lambda r: ("CHE" + _digits(r, 8), 1, "MWST"),
}


def make_vat_id(rng: random.Random, country: str) -> str:
    """A VAT ID that passes validation for ``country`` (its check digits searched), or ''."""
    candidates: list[str] = []
    for _ in range(20):
        if country == "FR":
            # SIREN (Luhn) preceded by its two check digits.
            stem = _digits(rng, 8)
            siren = next(s for s in (f"{stem}{d}" for d in range(10)) if luhn.is_valid(s))
            candidates = [f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"]
        elif country in _VAT_FORMATS:
            prefix, width, suffix = _VAT_FORMATS[country](rng)
            candidates = [f"{prefix}{n:0{width}d}{suffix}" for n in range(10**width)]
        else:
            return ""
        for candidate in candidates:
            try:
                return normalize_vat_id(candidate, country)
            except ValidationError:
                continue
    return ""


def make_phone(rng: random.Random, country: str, *, mobile: bool = False) -> str:
    """A valid E.164 number of ``country``: fictional ranges where they exist (US, GB), else
    the country's example number with other last digits. Empty only for unknown countries."""
    kind = (
        phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
    )
    example = phonenumbers.example_number_for_type(country, kind) or phonenumbers.example_number(
        country
    )
    if example is None:
        return ""
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for _ in range(50):
        if country == "US":
            candidate = f"+1{rng.choice(US_AREA_CODES)}55501{rng.randint(0, 99):02d}"
        elif country == "GB":
            candidate = f"{rng.choice(GB_DRAMA_PREFIXES)}{rng.randint(0, 999):03d}"
        else:
            candidate = f"{e164[:-4]}{rng.randint(0, 9999):04d}"
        try:
            phone = normalize_phone(candidate, country)
        except ValidationError:
            continue
        if phonenumbers.region_code_for_number(phonenumbers.parse(phone)) == country:
            return phone
    return e164


@dataclass
class Person:
    name: str
    email: str
    phone: str


@dataclass
class Company:
    legal_name: str
    display_name: str
    country: Country
    city: tuple[str, str, str]
    street: str
    website_domain: str
    mail_domain: str
    vat_id: str
    duns: str


class Generator:
    """Invents companies and people from the word lists, never repeating a name."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names: set[str] = set()
        self.domains: set[str] = set()
        self.emails: set[str] = set()

    def person(self, country: Country, mail_domain: str, name: str = "") -> Person:
        rng = self.rng
        for _ in range(100):
            name = name or f"{rng.choice(country.first_names)} {rng.choice(country.last_names)}"
            first, last = name.split(" ", 1)
            email = f"{slugify_ascii(first, '')}.{slugify_ascii(last, '')}@{mail_domain}"
            if email not in self.emails:
                break
            name = ""
        self.emails.add(email)
        return Person(name, email, make_phone(rng, country.code, mobile=rng.random() < 0.4))

    def company(self, country_code: str, *, legal_name: str = "", city_index: int = -1) -> Company:
        rng = self.rng
        country = COUNTRIES[country_code]
        display = ""
        while not display or display in self.names:
            if legal_name:
                display = legal_name.rsplit(" ", 1)[0]
            elif rng.random() < 0.25:
                a, b = rng.sample(country.last_names, 2)
                display = f"{a} & {b} {rng.choice(country.trades)}"
            else:
                display = f"{rng.choice(country.stems)} {rng.choice(country.trades)}"
        self.names.add(display)
        legal_name = legal_name or f"{display} {rng.choice(country.legal_forms)}"
        slug = slugify_ascii(display.replace(" & ", " "))
        domain = f"{slug}.{country.tld}"
        if domain in self.domains:
            domain = f"{slug}-{country.code.lower()}.{country.tld}"
        self.domains.add(domain)
        mail_domain = f"{slug}.test"
        city = country.cities[city_index] if city_index >= 0 else rng.choice(country.cities)
        street = rng.choice(country.streets).format(n=rng.randint(*country.house_numbers))
        # Most partners have a VAT ID (never in the US, which has none); some have a DUNS.
        vat_id = make_vat_id(rng, country_code) if rng.random() < 0.9 else ""
        duns = _digits(rng, 9, first_nonzero=False) if rng.random() < 0.3 else ""
        return Company(
            legal_name=legal_name,
            display_name=display,
            country=country,
            city=city,
            street=street,
            website_domain=domain if rng.random() < 0.95 else "",
            mail_domain=mail_domain,
            vat_id=vat_id,
            duns=duns,
        )


# --- building ------------------------------------------------------------------------------


def _say(stdout: TextIO | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + ("" if message.endswith("\n") else "\n"))


def load_example_programs(
    programs_dir: Path, actor: User | None, stdout: TextIO | None
) -> list[LoadedProgram]:
    """Load every ``*.yaml`` in ``programs_dir`` (sorted); unchanged ones store nothing."""
    loaded = []
    for path in sorted(programs_dir.glob("*.yaml")):
        try:
            result = program_load(source=path.read_text(encoding="utf-8"), actor=actor)
        except ProgramInvalid as exc:
            details = "; ".join(
                f"line {e.line or '?'}: {e.path or '(top)'}: {e.message}" for e in exc.errors
            )
            raise DemoError(f"{path}: invalid program: {details}") from None
        version = result.version
        item = LoadedProgram(str(path), version.program.key, version.number, result.created)
        loaded.append(item)
        state = "loaded" if item.created else "unchanged"
        _say(stdout, f"Program {item.key}: version {item.version} {state} ({path.name})")
    return loaded


def _track_choices(today: dt.date) -> list[tuple[str, str, dt.date, float]]:
    """(program key, track key, earliest join date, weight) for every loaded program's tracks."""
    choices = []
    for program in Program.objects.order_by("key"):
        version = program.version_as_of(today) or program.versions.order_by("number").first()
        if version is None:
            continue
        for track in version.tracks.order_by("position"):
            # Distributors and the like are few; resellers and installers many.
            weight = 0.3 if "distribut" in track.key else (2.0 if track.position == 0 else 1.0)
            choices.append((program.key, track.key, version.effective_from, weight))
    if not choices:
        raise DemoError(
            "No program with tracks is loaded: pass --programs DIR (a directory of program YAML "
            "files) or load one first with `partnerhub program load FILE`."
        )
    return choices


def _pick_tracks(
    rng: random.Random,
    choices: list[tuple[str, str, dt.date, float]],
    since: dt.date,
    today: dt.date,
    *,
    prefer: str = "",
) -> list[dict[str, Any]]:
    preferred = [c for c in choices if c[1] == prefer]
    picked = [preferred[0]] if preferred else rng.choices(choices, [c[3] for c in choices])
    if rng.random() < 0.3:
        other = [c for c in choices if c[0] != picked[0][0]] or [
            c for c in choices if c != picked[0]
        ]
        if other:
            picked.append(rng.choice(other))
    tracks = []
    for program, track, effective_from, _ in picked:
        joined = max(since, effective_from) if effective_from <= today else effective_from
        if joined < today:
            joined += dt.timedelta(days=rng.randint(0, min(60, (today - joined).days)))
        tracks.append({"program": program, "track": track, "joined_on": min(joined, today)})
    return tracks


def _status_plan(rng: random.Random, status: str, since: dt.date, today: dt.date):
    """[(to_status, reason, date)] for a partner's history, oldest first."""

    def reason(kind: str) -> str:
        return rng.choice(STATUS_REASONS[kind])

    def later(day: dt.date, lo: int, hi: int) -> dt.date:
        return min(day + dt.timedelta(days=rng.randint(lo, hi)), today)

    if status == PartnerStatus.APPLIED:
        return [(PartnerStatus.APPLIED, reason("applied"), since)]
    if rng.random() < 0.5:
        plan = [(PartnerStatus.ACTIVE, reason("created_active"), since)]
    else:
        plan = [
            (PartnerStatus.APPLIED, reason("applied"), since),
            (PartnerStatus.ACTIVE, reason("approved"), later(since, 3, 30)),
        ]
    last = plan[-1][2]
    if status == PartnerStatus.ACTIVE and rng.random() < 0.1:
        suspended = later(last, 60, 300)
        plan.append((PartnerStatus.SUSPENDED, reason("suspended"), suspended))
        plan.append((PartnerStatus.ACTIVE, reason("reactivated"), later(suspended, 5, 40)))
    elif status == PartnerStatus.SUSPENDED:
        plan.append((PartnerStatus.SUSPENDED, reason("suspended"), later(last, 60, 400)))
    elif status == PartnerStatus.TERMINATED:
        if rng.random() < 0.5:
            last = later(last, 60, 300)
            plan.append((PartnerStatus.SUSPENDED, reason("suspended"), last))
        plan.append((PartnerStatus.TERMINATED, reason("terminated"), later(last, 20, 300)))
    return plan


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    """A plausible office-hours moment on ``day`` (UTC), never in the future."""
    moment = dt.datetime.combine(
        day, dt.time(rng.randint(7, 17), rng.randint(0, 59)), tzinfo=dt.UTC
    )
    return min(moment, timezone.now())


class _Builder:
    def __init__(
        self, *, admin: User, staff: dict[str, User], password_hash: str, stdout: TextIO | None
    ) -> None:
        self.admin = admin
        self.staff = staff
        self.stdout = stdout
        self.gen = Generator(SEED)
        # Separate streams, so that the companies and people do not depend on which programs
        # exist: names (and VAT IDs, phones), then statuses and dates, then program tracks.
        self.rng = random.Random(SEED + 1)
        self.track_rng = random.Random(SEED + 2)
        self.today = timezone.localdate()
        self.choices = _track_choices(self.today)
        self.password_hash = password_hash
        self.managers = {
            region: user
            for local, _, role, _, regions in STAFF
            if role == StaffRole.PARTNER_MANAGER
            for user in [staff[local]]
            for region in regions
        }
        self.history: dict[int, list[dt.datetime]] = {}
        self.created_on: dict[int, dt.datetime] = {}

    def partner(
        self,
        company: Company,
        *,
        status: str,
        parent: Partner | None = None,
        prefer_track: str = "",
        admin_email: str = "",
        admin_name: str = "",
        since: dt.date | None = None,
    ) -> Partner:
        rng = self.rng
        if since is None:
            back = rng.randint(2, 45) if status == PartnerStatus.APPLIED else rng.randint(30, 1100)
            since = self.today - dt.timedelta(days=back)
        plan = _status_plan(rng, status, since, self.today)
        manager = self.managers.get(company.country.code)
        if parent is not None:
            manager = parent.partner_manager
        elif rng.random() < 0.05:
            manager = None  # a few partners wait for a partner manager
        city, postal_code, region = company.city
        data: dict[str, Any] = {
            "legal_name": company.legal_name,
            "display_name": company.display_name,
            "vat_id": company.vat_id,
            "duns": company.duns,
            "address_line1": company.street,
            "postal_code": postal_code,
            "city": city,
            "region": region,
            "country": company.country.code,
            "website_domain": company.website_domain,
            "status": plan[0][0],
            "partner_manager_id": manager.pk if manager else None,
            "parent_id": parent.pk if parent else None,
            "allow_user_invitations": rng.random() < 0.9,
            "tracks": _pick_tracks(
                self.track_rng, self.choices, since, self.today, prefer=prefer_track
            ),
        }
        partner = partner_create(actor=self.admin, data=data, reason=plan[0][1])
        for to_status, reason, _ in plan[1:]:
            partner_set_status(
                actor=manager or self.admin, partner=partner, status=to_status, reason=reason
            )
        # Sorted: two changes planned on the same day get random times that must stay in order.
        self.history[partner.pk] = sorted(_at(day, rng) for _, _, day in plan)
        self.created_on[partner.pk] = self.history[partner.pk][0]

        # Contacts of each role; the administrative and technical ones also log in.
        country, domain = company.country, company.mail_domain
        admin = self.gen.person(country, domain, admin_name)
        technical = self.gen.person(country, domain)
        billing = self.gen.person(country, domain)
        for role, person in (
            (ContactRole.ADMINISTRATIVE, admin),
            (ContactRole.TECHNICAL, technical),
            (ContactRole.BILLING, billing),
        ):
            contact_create(
                partner=partner,
                role=role,
                name=person.name,
                email=person.email,
                phone=person.phone,
            )
        members = [(admin, PartnerRole.ADMIN)]
        if rng.random() < 0.6:
            members.append((self.gen.person(country, domain), PartnerRole.SALES))
        if rng.random() < 0.45:
            members.append((technical, PartnerRole.TECHNICAL))
        for index, (person, role) in enumerate(members):
            email = admin_email if (admin_email and index == 0) else person.email
            user = User(
                email=email,
                full_name=person.name,
                password=self.password_hash,
                is_active=status != PartnerStatus.TERMINATED,
                date_joined=self.created_on[partner.pk] + dt.timedelta(days=index * 3 + 1),
            )
            user.date_joined = min(user.date_joined, timezone.now())
            user.save()
            PartnerUser.objects.create(user=user, partner=partner, role=role)
        return partner

    def build(self) -> None:
        gen, rng = self.gen, self.rng
        named: list[Partner] = []
        for legal_name, country, city, login, admin_name, children in NAMED:
            company = gen.company(country, legal_name=legal_name, city_index=city)
            parent = self.partner(
                company,
                status=PartnerStatus.ACTIVE,
                prefer_track="distributor" if children else "var",
                admin_email=login,
                admin_name=admin_name,
                since=self.today - dt.timedelta(days=700 + 90 * len(named)),
            )
            named.append(parent)
            for child_country in children:
                self.partner(
                    gen.company(child_country),
                    status=PartnerStatus.ACTIVE,
                    parent=parent,
                    prefer_track="contractor",
                )
        _say(self.stdout, f"Named partners and sub-operators: {len(self.history)}")
        for code, country in COUNTRIES.items():
            for _ in range(country.count):
                roll = rng.random()
                status = (
                    PartnerStatus.ACTIVE
                    if roll < 0.8
                    else PartnerStatus.APPLIED
                    if roll < 0.88
                    else PartnerStatus.SUSPENDED
                    if roll < 0.94
                    else PartnerStatus.TERMINATED
                )
                self.partner(gen.company(code), status=status)
        _say(self.stdout, f"Partners: {len(self.history)}")
        self._backdate()
        self._invitations(named)
        self._applications()

    def _backdate(self) -> None:
        """Services stamp 'now'; give the history the dates it would have had."""
        partners = list(Partner.objects.filter(pk__in=self.history))
        for partner in partners:
            partner.created_at = self.created_on[partner.pk]
        Partner.objects.bulk_update(partners, ["created_at"], batch_size=500)
        changes = list(StatusChange.objects.filter(partner_id__in=self.history).order_by("id"))
        seen: dict[int, int] = {}
        for change in changes:
            index = seen.get(change.partner_id, 0)
            seen[change.partner_id] = index + 1
            change.changed_at = self.history[change.partner_id][index]
        StatusChange.objects.bulk_update(changes, ["changed_at"], batch_size=500)

    def _invitations(self, named: list[Partner]) -> None:
        """A few invitations, stored directly so that the demo sends no e-mail."""
        now = timezone.now()
        for partner, local, role, days_left in (
            (named[0], "jan.peters", PartnerRole.SALES, 5),
            (named[0], "eva.kramer", PartnerRole.TECHNICAL, -2),
            (named[1], "stefan.gruber", PartnerRole.BILLING, 6),
        ):
            domain = partner.contacts.first().email.split("@", 1)[1]
            expires_at = now + dt.timedelta(days=days_left)
            invitation = Invitation.objects.create(
                partner=partner,
                email=f"{local}@{domain}",
                role=role,
                invited_by=partner.members.filter(role=PartnerRole.ADMIN).first().user,
                expires_at=expires_at,
            )
            sent = expires_at - dt.timedelta(days=settings.PARTNERHUB_INVITATION_MAX_AGE_DAYS)
            Invitation.objects.filter(pk=invitation.pk).update(created_at=min(sent, now))

    def _applications(self) -> None:
        rng = self.rng
        for index, code in enumerate(("DE", "FR", "SE", "US", "ES")):
            company = self.gen.company(code)
            person = self.gen.person(company.country, company.mail_domain)
            weights = [c[3] for c in self.choices]
            program, track, _, _ = self.track_rng.choices(self.choices, weights)[0]
            application = application_submit(
                data={
                    "legal_name": company.legal_name,
                    "display_name": company.display_name,
                    "country": code,
                    "vat_id": company.vat_id,
                    "website_domain": company.website_domain,
                    "contact_name": person.name,
                    "contact_email": person.email,
                    "contact_phone": person.phone,
                    "program": program,
                    "track_key": track,
                    "message": APPLICATION_MESSAGES[index % len(APPLICATION_MESSAGES)],
                }
            )
            submitted = _at(self.today - dt.timedelta(days=rng.randint(0, 12)), rng)
            PartnerApplication.objects.filter(pk=application.pk).update(
                created_at=submitted, updated_at=submitted
            )
        _say(self.stdout, "Pending applications: 5")


def _create_staff(password_hash: str) -> dict[str, User]:
    """The vendor staff; the demo admin first, which the rest of the audit trail names."""
    staff: dict[str, User] = {}
    for index, (local, name, role, superuser, _) in enumerate(STAFF):
        user = User(
            email=f"{local}@{DEMO_DOMAIN}",
            full_name=name,
            password=password_hash,
            staff_role=role,
            is_staff=True,  # may use the back office (/admin/), like all vendor staff
            is_superuser=superuser,
            date_joined=timezone.now() - dt.timedelta(days=1200 - 60 * index),
        )
        if index == 0:
            user.save()
            # Created before anyone could be its actor: the admin created itself.
            LogEntry.objects.get_for_object(user).update(actor=user)
            staff[local] = user
            continue
        with acting_as(staff[STAFF[0][0]]):
            user.save()
        staff[local] = user
    return staff


def demo_logins() -> list[DemoLogin]:
    """The printable logins: every demo staff user and the named partners' admins."""
    logins = []
    by_email = {
        u.email: u
        for u in User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").select_related(
            "partner_membership__partner"
        )
    }
    for local, _, role, superuser, _ in STAFF:
        user = by_email.get(f"{local}@{DEMO_DOMAIN}")
        if user is not None:
            label = StaffRole(role).label + (" (superuser, /admin/)" if superuser else "")
            logins.append(DemoLogin(user.email, DEMO_PASSWORD, label, VENDOR))
    for email in (PARTNER_ADMIN_EMAIL, OPERATOR_ADMIN_EMAIL):
        user = by_email.get(email)
        membership = getattr(user, "partner_membership", None) if user else None
        if membership is None:
            continue
        partner = membership.partner
        organisation = partner.display_name
        children = partner.children.count()
        if children:
            organisation += f" (sub-operator, {children} partners under it)"
        logins.append(
            DemoLogin(email, DEMO_PASSWORD, PartnerRole(membership.role).label, organisation)
        )
    return logins


def demo_counts() -> dict[str, int]:
    from partnerhub.partners.models import Contact, TrackMembership
    from partnerhub.programs.models import ProgramVersion

    models = {
        "programs": Program,
        "program versions": ProgramVersion,
        "users": User,
        "partners": Partner,
        "contacts": Contact,
        "partner users": PartnerUser,
        "track memberships": TrackMembership,
        "status changes": StatusChange,
        "invitations": Invitation,
        "applications": PartnerApplication,
        "audit entries": LogEntry,
    }
    return {label: model.objects.count() for label, model in models.items()}


def build_demo(*, stdout: TextIO | None = None, programs_dir: Path | None = None) -> DemoResult:
    """Load the example programs and, unless present already, build the demo data set."""
    programs_dir = programs_dir or EXAMPLES_DIR
    if not programs_dir.is_dir():
        _say(stdout, f"No example programs at {programs_dir}; using the programs loaded.")
    with transaction.atomic():
        admin = User.objects.filter(email=ADMIN_EMAIL).first()
        created = admin is None
        staff: dict[str, User] = {}
        password_hash = ""
        if created:
            # One (slow, salted) hash for every demo user: they all share the demo password.
            password_hash = make_password(DEMO_PASSWORD)
            staff = _create_staff(password_hash)
            admin = staff[STAFF[0][0]]
        with acting_as(admin):
            programs = (
                load_example_programs(programs_dir, admin, stdout) if programs_dir.is_dir() else []
            )
            if created:
                _Builder(
                    admin=admin, staff=staff, password_hash=password_hash, stdout=stdout
                ).build()
            else:
                _say(stdout, f"Demo data already present ({ADMIN_EMAIL} exists): not rebuilt.")
            from partnerhub.core.demo_activity import build_activity

            build_activity(today=timezone.localdate(), stdout=stdout)
            from partnerhub.core.demo_activity import build_sitehost

            build_sitehost(today=timezone.localdate(), stdout=stdout)
            from partnerhub.core.demo_activity import build_incentives

            build_incentives(today=timezone.localdate(), stdout=stdout)
            from partnerhub.core.demo_activity import build_quotes_mdf

            build_quotes_mdf(today=timezone.localdate(), stdout=stdout)
    return DemoResult(
        created=created, programs=programs, logins=demo_logins(), counts=demo_counts()
    )
