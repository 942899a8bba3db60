"""Load and check the requirement catalogue, requirements/catalogue.yml."""

import pathlib

import yaml

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
CATALOGUE = REPOSITORY / "requirements" / "catalogue.yml"
LANGUAGES = ("en", "de")


class CatalogueError(ValueError):
    """The catalogue file is missing, not valid YAML or has a bad entry."""


def _check_entry(position, entry):
    if not isinstance(entry, dict):
        raise CatalogueError("entry %d of the catalogue is not a mapping" % position)
    if not isinstance(entry.get("id"), str) or not entry["id"].strip():
        raise CatalogueError("entry %d of the catalogue has no id" % position)
    if isinstance(entry.get("source"), str):
        entry["source"] = {language: entry["source"] for language in LANGUAGES}
    for field in ("source", "title", "text"):
        value = entry.get(field)
        for language in LANGUAGES:
            if not isinstance(value, dict) or not str(value.get(language) or "").strip():
                raise CatalogueError("requirement %s has no %s in language %r" % (entry["id"], field, language))


def load(path=CATALOGUE):
    """Return the catalogue entries in file order, after checking that each
    has an id, and a source, title and text in every language. A source
    given as one text is returned as that text for every language."""
    try:
        entries = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CatalogueError("cannot read the catalogue %s: %s" % (path, error)) from error
    if not isinstance(entries, list) or not entries:
        raise CatalogueError("the catalogue %s must be a non-empty list of requirements" % path)
    seen = set()
    for position, entry in enumerate(entries, start=1):
        _check_entry(position, entry)
        if entry["id"] in seen:
            raise CatalogueError("requirement %s is listed twice in %s" % (entry["id"], path))
        seen.add(entry["id"])
    return entries
