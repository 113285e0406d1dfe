"""The protein marker vocabulary (vocab/markers.yaml): HGNC symbol -> MISEV2018 category and MISEV2023 class."""

import difflib
import re
from functools import cache
from pathlib import Path

from . import yaml_files
from .errors import VocabularyError

MARKERS_PATH = Path(__file__).parent / "vocab" / "markers.yaml"
# The subcategory whose proteins are lipoprotein markers (MISEV2018 Table 3, category 3a): a preparation tested
# for one of them has the lipoprotein readout the purity class of a lipoprotein-rich biofluid needs.
LIPOPROTEINS = "3a"
# How many names "Did you mean …?" offers, and how alike (difflib's ratio, 0–1) a name must be to be offered.
SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.7
_SEPARATORS = re.compile(r"[\s\-_.]+")


def name_key(name: str) -> str:
    """A protein name as compared for suggestions: upper case, without spaces, hyphens, underscores or dots
    ("cd 9", "CD-9" and "cd9" are one key)."""
    return _SEPARATORS.sub("", str(name)).upper()


class MarkerVocabulary:
    """Classifies protein names. Labels of a marker are its subcategories ("1a"), their top-level categories
    ("1") and the MISEV2023 classes ("transmembrane_or_gpi"), so a rule can ask for any of them."""

    def __init__(self, data: dict, *, source: str = "markers.yaml"):
        try:
            classes_2023 = {str(key): value for key, value in data["misev2023_classes"].items()}
            subcategories = data["subcategories"]
            aliases = data.get("aliases") or {}
        except (KeyError, TypeError, AttributeError) as error:
            raise VocabularyError(f"{source}: missing or malformed top-level key {error}") from error
        self._labels_by_subcategory: dict[str, frozenset[str]] = {}
        for subcategory, misev2023_class in classes_2023.items():
            self._labels_by_subcategory[subcategory] = frozenset({subcategory, subcategory[0], misev2023_class})
        self._exact: dict[str, set[str]] = {}
        self._prefixes: dict[str, set[str]] = {}
        groups = [(str(key), entry) for key, entry in subcategories.items()]
        if data.get("matrix_contaminants"):
            extra = data["matrix_contaminants"]
            groups.append((str(extra.get("misev2018_category")), extra))
        for subcategory, entry in groups:
            if subcategory not in self._labels_by_subcategory:
                raise VocabularyError(f"{source}: subcategory {subcategory!r} has no entry in misev2023_classes")
            symbols = entry.get("symbols") if isinstance(entry, dict) else None
            if not symbols:
                raise VocabularyError(f"{source}: subcategory {subcategory!r} lists no symbols")
            for symbol in symbols:
                symbol = str(symbol).upper()
                if symbol.endswith("*"):
                    self._prefixes.setdefault(symbol[:-1], set()).add(subcategory)
                else:
                    self._exact.setdefault(symbol, set()).add(subcategory)
        self.subcategory_titles = {key: entry["title"] for key, entry in subcategories.items()}
        self._caveats = self._parse_caveats(data.get("caveats") or {}, source)
        self._aliases = {str(alias).upper(): str(symbol).upper() for alias, symbol in aliases.items()}
        # Longest prefix first so "H3-3*" beats "H3*" style overlaps.
        self._ordered_prefixes = sorted(self._prefixes, key=len, reverse=True)
        self._memo: dict[str, frozenset[str]] = {}

    def _parse_caveats(self, caveats, source: str) -> dict[str, tuple[frozenset[str], tuple[str, ...]]]:
        """Caveat name -> (exact symbols, prefixes). A caveat is an extra label a rule may refuse to count alone."""
        if not isinstance(caveats, dict):
            raise VocabularyError(f"{source}: caveats must be a mapping of name -> {{title, symbols}}")
        parsed = {}
        for name, entry in caveats.items():
            symbols = entry.get("symbols") if isinstance(entry, dict) else None
            if not symbols or not entry.get("title"):
                raise VocabularyError(f"{source}: caveat {name!r} needs a title and a list of symbols")
            if name in frozenset().union(*self._labels_by_subcategory.values()):
                raise VocabularyError(f"{source}: caveat {name!r} clashes with a category label")
            upper = [str(symbol).upper() for symbol in symbols]
            exact = frozenset(s for s in upper if not s.endswith("*"))
            parsed[str(name)] = (exact, tuple(s[:-1] for s in upper if s.endswith("*")))
        self.caveat_titles = {name: caveats[name]["title"] for name in parsed}
        return parsed

    def resolve(self, name: str) -> str:
        """The HGNC symbol for a protein name or alias (upper-cased; unknown names are returned upper-cased)."""
        key = name.strip().upper()
        return self._aliases.get(key, key)

    def is_known(self, name: str) -> bool:
        """Whether a protein name is in the vocabulary: a listed HGNC symbol, one of a listed family ("CHMP4B"
        for "CHMP*"), or an alias of one."""
        return bool(self.subcategories(name))

    def suggestions(self, name: str, limit: int = SUGGESTIONS) -> list[str]:
        """The symbols and aliases closest to an unknown name, best first. Names equal but for case, spaces,
        hyphens, underscores and dots come first ("CD-63" → CD63, "Syntenin 1" → SYNTENIN-1), then the most
        alike (difflib) among the vocabulary's symbols and aliases; family patterns are not offered. A name equal
        but for its spelling gets that one suggestion alone."""
        key = name_key(name)
        if not key:
            return []
        names = self._suggestable()
        if key in names:  # the same name written otherwise: that one, and nothing else to choose from
            return [names[key]]
        alike = difflib.get_close_matches(key, list(names), n=limit, cutoff=SUGGESTION_CUTOFF)
        return [names[match] for match in alike]

    def _suggestable(self) -> dict[str, str]:
        """{comparison key: the name as offered}, symbols before aliases on a clash."""
        try:
            return self._suggestable_names
        except AttributeError:
            pass
        names = {name_key(alias): alias for alias in sorted(self._aliases)}
        names |= {name_key(symbol): symbol for symbol in sorted(self._exact)}
        self._suggestable_names = names
        return names

    def alias_of(self, name: str) -> str | None:
        """The symbol an alias stands for; None for a symbol or an unknown name."""
        return self._aliases.get(str(name).strip().upper())

    def unknown_message(self, name: str) -> str:
        """ "CD-63 is not in the marker vocabulary. Did you mean CD63?" (aliases named with their symbol)."""
        offered = [
            f"{suggestion} (another name of {self.alias_of(suggestion)})" if self.alias_of(suggestion) else suggestion
            for suggestion in self.suggestions(name)
        ]
        text = f"{str(name).strip()} is not in the marker vocabulary."
        if not offered:
            return f"{text} No symbol or alias in it is close."
        choices = offered[0] if len(offered) == 1 else f"{', '.join(offered[:-1])} or {offered[-1]}"
        return f"{text} Did you mean {choices}?"

    def subcategories(self, name: str) -> frozenset[str]:
        symbol = self.resolve(name)
        if symbol in self._exact:
            return frozenset(self._exact[symbol])
        for prefix in self._ordered_prefixes:
            if symbol.startswith(prefix):
                return frozenset(self._prefixes[prefix])
        return frozenset()

    def labels(self, name: str) -> frozenset[str]:
        """Every category label of a protein; empty when the protein is not in the vocabulary."""
        try:
            return self._memo[name]
        except KeyError:
            pass
        labels: frozenset[str] = frozenset()
        for subcategory in self.subcategories(name):
            labels |= self._labels_by_subcategory[subcategory]
        if labels:
            symbol = self.resolve(name)
            labels |= {
                caveat
                for caveat, (exact, prefixes) in self._caveats.items()
                if symbol in exact or symbol.startswith(prefixes)
            }
        self._memo[name] = labels
        return labels

    def symbols_of(self, subcategory: str) -> frozenset[str]:
        """The HGNC symbols listed under a subcategory, as marker results store them. A subcategory listed by
        pattern ("GNA*") names no fixed set of symbols and is refused."""
        if any(subcategory in subcategories for subcategories in self._prefixes.values()):
            raise VocabularyError(f"subcategory {subcategory!r} is listed by pattern, not by symbol")
        symbols = frozenset(symbol for symbol, subcategories in self._exact.items() if subcategory in subcategories)
        if not symbols:
            raise VocabularyError(f"subcategory {subcategory!r} lists no symbols")
        return symbols

    def known_labels(self) -> frozenset[str]:
        return frozenset().union(*self._labels_by_subcategory.values(), self._caveats)


@cache
def marker_vocabulary() -> MarkerVocabulary:
    return MarkerVocabulary(yaml_files.safe_load(MARKERS_PATH.read_text(encoding="utf-8")), source=str(MARKERS_PATH))
