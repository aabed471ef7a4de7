"""Program upload: validate (every error at its YAML line), what-if, then activate."""

from pathlib import Path

import pytest
from django.urls import reverse

from partnerhub.programs.models import Program, ProgramVersion

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "programs"
URL = "/console/programs/"


@pytest.fixture
def admin(client, world):
    client.force_login(world.program_admin)
    return client


def test_lists_programs_and_versions(admin):
    body = admin.get(reverse("console:programs")).content.decode()
    assert "Voltaris EV Charging Partner Program" in body
    assert "in force" in body
    assert "Load a program" in body


def test_broken_file_shows_each_error_at_its_line(admin):
    source = (EXAMPLES / "saas-three-tier.yaml").read_text()
    lines = source.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("currency:"))
    lines[index] = "currency: euro"
    response = admin.post(URL, {"action": "check", "source": "\n".join(lines)})
    assert response.status_code == 400
    body = response.content.decode()
    line = index + 1
    assert f'<a href="#line-{line}">Line {line}</a>: <code>currency</code>' in body
    assert f'<span id="line-{line}"><mark>' in body
    assert "ISO 4217" in body
    assert "Nothing was loaded" in body
    assert not Program.objects.filter(key="saas-three-tier").exists()
    assert ProgramVersion.objects.count() == 1


def test_yaml_syntax_error_has_a_line(admin):
    response = admin.post(URL, {"action": "check", "source": "key: x\nname: [unclosed\n"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "not valid YAML" in body
    assert 'href="#line-' in body


def test_file_upload_of_a_broken_file(admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("p.yaml", b"schema_version: 1\nkey: Bad Key\n", "text/yaml")
    response = admin.post(URL, {"action": "check", "file": upload})
    assert response.status_code == 400
    body = response.content.decode()
    assert '<a href="#line-2">Line 2</a>' in body


def test_empty_upload_is_refused(admin):
    response = admin.post(URL, {"action": "check", "source": "   "})
    assert response.status_code == 200
    assert "Paste a program or choose a file." in response.content.decode()


def test_valid_file_shows_what_if_then_activates(admin, world):
    source = (EXAMPLES / "field-service-software.yaml").read_text()
    response = admin.post(URL, {"action": "check", "source": source})
    assert response.status_code == 200
    body = response.content.decode()
    assert "What-if" in body
    assert "Partners per tier" in body
    assert "Discounts" in body and "Commissions" in body
    assert 'name="action" value="activate"' in body
    # Nothing is stored by checking.
    assert not ProgramVersion.objects.exclude(program__key="ev-hardware").exists()

    response = admin.post(URL, {"action": "activate", "source": source.replace("\n", "\r\n")})
    assert response.status_code == 302
    version = ProgramVersion.objects.exclude(program__key="ev-hardware").get()
    assert version.loaded_by == world.program_admin
    body = admin.get(response["Location"]).content.decode()
    assert "is loaded" in body


def test_what_if_counts_partners_moving(admin, world):
    import re

    from django.utils import timezone

    from partnerhub.tiers.services import tiers_evaluate

    tiers_evaluate(as_of=timezone.localdate())
    source = (EXAMPLES / "ev-hardware.yaml").read_text()
    # A candidate where Silver asks for nothing: every VAR partner would be Silver.
    source, n = re.subn(
        r"(- key: silver\n\s+name: Silver\n)\s+requirements:\n(?:\s+- .*\n(?:\s{12,}.*\n)*)+",
        r"\1",
        source,
        count=1,
    )
    assert n == 1
    response = admin.post(URL, {"action": "check", "source": source})
    body = response.content.decode()
    assert "Compared with version 1" in body
    row = re.search(
        r"<td>Value-added reseller</td><th scope=\"row\">Silver</th>(.*?)</tr>", body, re.S
    )
    assert row is not None
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)
    assert cells[0] == "0" and cells[1] == "5" and "+5" in cells[2]
    assert ProgramVersion.objects.count() == 1


def test_version_older_than_the_current_one_is_refused_at_check(admin):
    source = (EXAMPLES / "ev-hardware.yaml").read_text()
    source = source.replace("effective_from: 2025-02-01", "effective_from: 2024-02-01")
    response = admin.post(URL, {"action": "check", "source": source})
    assert response.status_code == 400
    body = response.content.decode()
    line = source.split("\n").index("effective_from: 2024-02-01") + 1
    assert f'<a href="#line-{line}">Line {line}</a>: <code>effective_from</code>' in body
    assert "must take effect on or after" in body
    assert ProgramVersion.objects.count() == 1


def test_activating_the_same_content_changes_nothing(admin):
    source = (EXAMPLES / "ev-hardware.yaml").read_text()
    body = admin.post(URL, {"action": "check", "source": source}).content.decode()
    assert "already loaded as version 1" in body
    response = admin.post(URL, {"action": "activate", "source": source}, follow=True)
    assert "Nothing changed" in response.content.decode()
    assert ProgramVersion.objects.count() == 1


def test_only_program_admins(client, world):
    client.force_login(world.manager)
    source = (EXAMPLES / "field-service-software.yaml").read_text()
    response = client.post(URL, {"action": "activate", "source": source})
    assert response.status_code == 403
    assert ProgramVersion.objects.count() == 1
