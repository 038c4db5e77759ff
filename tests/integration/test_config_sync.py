"""The directives, the README and the sample configuration stay in step.

Every directive a module's command table declares must be documented in the
README and shown (at least commented) in the sample conf/, and every LLM*
directive the sample conf uses must exist: an admin copying the sample or
reading the README never meets a directive that is not there.
"""
import pathlib
import re

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
DECL = re.compile(r'AP_INIT_[A-Z0-9_]+\(\s*"(LLM[A-Za-z]+)"')
USE = re.compile(r'^\s*#?\s*(LLM[A-Za-z]+)\b', re.M)


def declared():
    names = {}
    for src in sorted((TOP / "modules").glob("*/*.c")):
        for name in DECL.findall(src.read_text()):
            names[name] = src.relative_to(TOP)
    return names


def sample_conf_text():
    files = list((TOP / "conf").rglob("*.conf"))
    return "\n".join(f.read_text() for f in files)


def test_modules_declare_directives():
    names = declared()
    for prefix in ("LLMScan", "LLMRoute", "LLMAudit"):
        assert any(n.startswith(prefix) for n in names), prefix


@pytest.mark.parametrize("name", sorted(declared()))
def test_directive_documented_in_readme(name):
    readme = (TOP / "README.md").read_text()
    assert re.search(r"`%s\b" % name, readme), \
        "%s (declared in %s) is not documented in README.md" % (
            name, declared()[name])


@pytest.mark.parametrize("name", sorted(declared()))
def test_directive_shown_in_sample_conf(name):
    assert re.search(r"\b%s\b" % name, sample_conf_text()), \
        "%s is not shown in the sample conf/ (not even commented)" % name


def test_sample_conf_uses_only_real_directives():
    names = declared()
    used = set(USE.findall(sample_conf_text()))
    unknown = sorted(u for u in used if u not in names)
    assert not unknown, "sample conf uses undeclared directives: %s" % unknown
