"""The action catalog: list, search, describe and document the installed actions.

The catalog commands must start about as fast as Python itself, so this module imports only
light standard-library modules. It works on plain JSON-able metadata (`Registry.metadata()`),
which is cached on disk (see "Cache" below): plug-ins are imported only when the cache is missing
or stale.

Metadata of one action: `name`, `label`, `category`, `description`, `usage`, `editions`, `plugin`,
`inputs`, `outputs`; a parameter has `name`, `label`, `description`, `required` and `type`
(`kind`, `apexClass`, `object`, `collection`, `scale`, `text`). The catalog also carries the Apex
classes the parameters use (`apexClasses`, keyed by lower-case dotted name) and plug-in warnings.
"""
from __future__ import annotations

import builtins  # Catalog.list shadows the name inside the class
import json
import os
import re
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are never evaluated
    from collections.abc import Iterable
    from typing import Any


__all__ = ["Catalog", "Hit", "SearchIndex", "load_catalog"]

CACHE_FORMAT = 1
# a search query longer than this is refused: no action's text needs more, and a long word's
# spelling variants grow with its length squared (10,000 characters once took 6.9 GB)
MAX_QUERY = 1_000
# Salesforce describe data types of flowengine's kinds
SF_TYPES = {"Text": "STRING", "Number": "DOUBLE", "Currency": "CURRENCY", "Boolean": "BOOLEAN",
            "Date": "DATE", "DateTime": "DATETIME", "Time": "TIME", "Picklist": "PICKLIST",
            "Multipicklist": "MULTIPICKLIST", "Apex": "APEX", "Record": "SOBJECT"}


def class_key(name: str | None) -> str:
    """`ConnectApi__Foo` and `connectapi.foo` name the same class."""
    return (name or "").replace("__", ".").lower()


# ---------------------------------------------------------------------------------------------
# The catalog

class Catalog:
    """Installed actions as metadata: look up, list, search, describe."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.actions: list[dict[str, Any]] = data["actions"]
        self.apex_classes: dict[str, dict[str, Any]] = data.get("apexClasses", {})
        self.warnings: list[str] = data.get("warnings", [])
        self._by_name = {a["name"]: a for a in self.actions}
        self._index: SearchIndex | None = None

    def get(self, name: str) -> dict[str, Any] | None:
        """The action called `name`, case-insensitively when there is no exact match."""
        found = self._by_name.get(name)
        if found is None:
            folded = name.lower()
            found = next((a for a in self.actions if a["name"].lower() == folded), None)
        return found

    def apex_class(self, name: str | None) -> dict[str, Any] | None:
        return self.apex_classes.get(class_key(name))

    def classes_used(self, action: dict[str, Any]) -> list[dict[str, Any]]:
        """The Apex classes of the action's parameters and, in turn, of their fields."""
        pending = [p["type"]["apexClass"] for p in action["inputs"] + action["outputs"]]
        found: dict[str, dict[str, Any]] = {}
        while pending:
            cls = self.apex_class(pending.pop(0))
            if cls is not None and cls["name"] not in found:
                found[cls["name"]] = cls
                pending.extend(f["type"]["apexClass"] for f in cls["fields"])
        return list(found.values())

    def categories(self) -> list[str]:
        return sorted({a["category"] for a in self.actions}, key=str.lower)

    def category(self, name: str) -> str | None:
        """The category spelled as the plug-ins spell it, matched case-insensitively."""
        return next((c for c in self.categories() if c.lower() == name.strip().lower()), None)

    def list(self, category: str | None = None) -> builtins.list[dict[str, Any]]:
        folded = category.lower() if category else None
        return [a for a in self.actions if folded is None or a["category"].lower() == folded]

    def search(self, query: str, category: str | None = None, limit: int = 10) -> builtins.list[Hit]:
        if self._index is None:
            self._index = SearchIndex(self.actions)
        return self._index.search(query, category=category, limit=limit)

    def suggest(self, name: str) -> builtins.list[str]:
        """Did-you-mean candidates for an unknown action name: close spellings, then search hits."""
        from difflib import get_close_matches
        name = name[:MAX_QUERY]
        folded = {a["name"].lower(): a["name"] for a in self.actions}
        close = [folded[n] for n in get_close_matches(name.lower(), list(folded), n=3, cutoff=0.7)]
        hits = self.search(name, limit=3)
        return close or [h.action["name"] for h in hits if h.score >= max(0.5, hits[0].score - 0.15)]

    def describe(self, action: dict[str, Any]) -> dict[str, Any]:
        """One action in the shape of Salesforce's Actions REST describe
        (`GET /services/data/vXX.X/actions/standard/NAME`), plus flowengine's own keys."""
        return {"name": action["name"], "label": action["label"],
                "description": action["description"], "category": action["category"],
                "type": action["name"].upper(), "standard": False,
                "plugin": action["plugin"], "editions": action["editions"], "usage": action["usage"],
                "inputs": [describe_parameter(p) for p in action["inputs"]],
                "outputs": [describe_parameter(p) for p in action["outputs"]]}


def summary(text: str, width: int = 100) -> str:
    """The first sentence of a description, on one line, at most `width` characters."""
    text = " ".join(text.split())
    end = text.find(". ")
    first = text[:end + 1] if end >= 0 else text
    return first if len(first) <= width else first[:width - 1].rstrip() + "…"


def describe_parameter(param: dict[str, Any]) -> dict[str, Any]:
    t = param["type"]
    kind = "INTEGER" if t["kind"] == "Number" and t["scale"] == 0 else SF_TYPES.get(t["kind"], t["kind"])
    return {"name": param["name"], "label": param["label"], "description": param["description"],
            "type": kind, "apexClass": t["apexClass"], "sobjectType": t["object"],
            "required": param["required"], "maxOccurs": "unbounded" if t["collection"] else 1,
            "flowType": t["text"]}


# ---------------------------------------------------------------------------------------------
# Search: an inverted index of words, with prefix, stem and typo matches

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOP = frozenset("a an and are as at be by can do does for from has have in into is it its of on "
                  "or that the their them then there these this to was were what when which will "
                  "with you your".split())
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
# how much a match in each part of an action counts (the best part wins per word)
W_NAME, W_LABEL, W_CATEGORY, W_PARAM, W_DESCRIPTION = 1.0, 1.0, 0.7, 0.5, 0.35
# how much a kind of word match counts
S_EXACT, S_STEM, S_TYPO, S_TYPO_PREFIX, S_TYPO2 = 1.0, 0.8, 0.75, 0.6, 0.6
NAME_BONUS = 0.1  # share of the score given to how much of the action's name the query covers


def words(text: str) -> list[str]:
    """Lower-case words of text, camelCase split: `cancelFulfillmentOrderItem` → 4 words."""
    return [w.lower() for w in _WORD.findall(text)]


class Hit:
    """One search result: the action's metadata and a score in [0, 1] (higher is better)."""

    __slots__ = ("action", "score")

    def __init__(self, action: dict[str, Any], score: float) -> None:
        self.action = action
        self.score = score

    def __repr__(self) -> str:
        return f"Hit({self.action['name']!r}, {self.score:.3f})"


class SearchIndex:
    """Ranked, typo-tolerant search over action metadata. Build once, query many times."""

    def __init__(self, actions: list[dict[str, Any]]) -> None:
        self.actions = actions
        self.postings: dict[str, dict[int, float]] = {}  # word -> {action index: best weight}
        self.name_words: list[tuple[str, ...]] = []
        for doc, action in enumerate(actions):
            best: dict[str, float] = {}
            for text, weight in _searchable_parts(action):
                for word in words(text):
                    if weight < W_NAME and (len(word) < 2 or word in _STOP):
                        continue
                    if best.get(word, 0.0) < weight:
                        best[word] = weight
            whole = action["name"].lower()  # so that `cancelfulfillmentorderitem` finds it too
            best[whole] = W_NAME
            for word, weight in best.items():
                self.postings.setdefault(word, {})[doc] = weight
            self.name_words.append(tuple(words(action["name"])))
        self.vocabulary = sorted(self.postings)
        self.longest = max(map(len, self.vocabulary), default=0)
        self._by_length: dict[int, list[str]] | None = None

    def search(self, query: str, category: str | None = None, limit: int = 10) -> builtins.list[Hit]:
        """The best `limit` actions for `query`. ValueError when the query is longer than
        MAX_QUERY characters."""
        if len(query) > MAX_QUERY:
            raise ValueError(f"the search query is {len(query):,} characters long; at most "
                             f"{MAX_QUERY:,} are searched (search for a few words)")
        terms = [w for w in words(query) if w not in _STOP] or words(query)
        if not terms or limit < 1:
            return []
        total: dict[int, float] = {}
        matched: dict[int, int] = {}
        matched_words: set[str] = set()
        complete_words: set[str] = set()  # matched as a whole, not merely begun
        weight_sum = 0.0
        for term in dict.fromkeys(terms):
            similar = self.similar_words(term)
            matched_words.update(similar)
            complete_words.update(w for w in similar if len(w) <= len(term) or not w.startswith(term))
            if len(similar) == 1 and S_EXACT in similar.values():  # the common case, made fast
                per_doc = self.postings[term]
            else:
                per_doc = {}
                for word, sim in similar.items():
                    for doc, weight in self.postings[word].items():
                        value = sim * weight
                        if value > per_doc.get(doc, 0.0):
                            per_doc[doc] = value
            rarity = self._rarity(len(per_doc))  # a word most actions share tells little
            weight_sum += rarity
            for doc, value in per_doc.items():
                total[doc] = total.get(doc, 0.0) + rarity * value
                matched[doc] = matched.get(doc, 0) + 1
        needed = (len(set(terms)) + 1) // 2  # most of the query's words must match
        folded = category.lower() if category else None
        base = {doc: score / weight_sum for doc, score in total.items()
                if matched[doc] >= needed
                and (folded is None or self.actions[doc]["category"].lower() == folded)}
        if not base:
            return []
        # the name bonus can lift a score by at most NAME_BONUS: only near-top actions can use it
        floor = _largest(base.values(), limit)[-1] - NAME_BONUS / (1 - NAME_BONUS)
        ranked = []
        for doc, score in base.items():
            if score < floor:
                continue
            name = self.actions[doc]["name"]
            name_words = self.name_words[doc]
            covered = 1.0 if name.lower() in complete_words else \
                sum(w in matched_words for w in name_words) / max(len(name_words), 1)
            final = round((1 - NAME_BONUS) * score + NAME_BONUS * covered, 4)
            ranked.append((final, -len(name), -doc))  # ties: the shorter name, then the first
        return [Hit(self.actions[-minus_doc], final) for final, _, minus_doc in _largest(ranked, limit)]

    def similar_words(self, term: str) -> dict[str, float]:
        """Indexed words that `term` may mean, with a similarity in (0, 1]: the word itself,
        words it begins (`fulf` → `fulfillment`), its stem (`cancelled` → `cancel`), and, when the
        word is not indexed, spellings one edit away (`cancle`, `fulfilment`; two for long words)."""
        postings, found = self.postings, {}
        if term in postings:
            found[term] = S_EXACT
        if len(term) >= 2:
            for word in self._starting_with(term):
                found.setdefault(word, 0.75 + 0.2 * len(term) / len(word))
        for cut in range(max(4, len(term) - 3), len(term)):
            if len(term) >= 5 and term[:cut] in postings:
                found.setdefault(term[:cut], S_STEM)
        if term in postings or len(term) < 4 or len(term) > self.longest + 2:
            return found          # (no indexed word is within two edits of a longer term)
        edits = _edits1(term)
        for word in edits & postings.keys():
            found.setdefault(word, S_TYPO)
        if not found and len(term) >= 5:
            for edit in edits:
                if len(edit) >= 5:
                    for word in self._starting_with(edit):
                        found.setdefault(word, S_TYPO_PREFIX)
        if not found and len(term) >= 8:
            for word in self._words_of_length(len(term) - 2, len(term) + 2):
                if _osa_distance_within(term, word, 2):
                    found.setdefault(word, S_TYPO2)
        return found

    def _starting_with(self, prefix: str) -> list[str]:
        vocabulary, out = self.vocabulary, []
        i, high = 0, len(vocabulary)
        while i < high:  # bisect, without importing bisect on the start-up path
            middle = (i + high) // 2
            if vocabulary[middle] < prefix:
                i = middle + 1
            else:
                high = middle
        while i < len(vocabulary) and vocabulary[i].startswith(prefix):
            if vocabulary[i] != prefix:
                out.append(vocabulary[i])
            i += 1
        return out

    def _words_of_length(self, low: int, high: int) -> Iterable[str]:
        if self._by_length is None:
            self._by_length = {}
            for word in self.vocabulary:
                self._by_length.setdefault(len(word), []).append(word)
        for length in range(low, high + 1):
            yield from self._by_length.get(length, ())

    def _rarity(self, matching: int) -> float:
        """1 for a word few actions have, down to 0.5 for one that every action has."""
        return 1.0 - 0.5 * (matching / len(self.actions)) ** 0.5 if self.actions else 1.0


def _largest(items: Any, n: int) -> list[Any]:
    """The n largest items, largest first (heapq only for long lists: importing it costs)."""
    if len(items) > 256:
        import heapq
        return heapq.nlargest(n, items)
    return sorted(items, reverse=True)[:n]


def _searchable_parts(action: dict[str, Any]) -> Iterable[tuple[str, float]]:
    yield action["name"], W_NAME
    yield action["label"], W_LABEL
    yield action["category"], W_CATEGORY
    for param in action["inputs"] + action["outputs"]:
        yield param["name"], W_PARAM
        yield param["label"], W_PARAM
    yield action["description"], W_DESCRIPTION


def _edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {a + b[1:] for a, b in splits if b}
    edits.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    edits.update(a + c + b[1:] for a, b in splits if b for c in _ALPHABET)
    edits.update(a + c + b for a, b in splits for c in _ALPHABET)
    edits.discard(word)
    return edits


def _osa_distance_within(a: str, b: str, limit: int) -> bool:
    """Is the optimal-string-alignment distance (edits, adjacent swaps) of a and b at most limit?"""
    if abs(len(a) - len(b)) > limit:
        return False
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return False
        before, previous = previous, current
    return previous[-1] <= limit


# ---------------------------------------------------------------------------------------------
# Cache: the catalog as JSON in the user's cache directory, valid while the fingerprint of the
# installed distributions and of the plug-ins' source files is unchanged.

_META_SUFFIXES = (".dist-info", ".egg-info", ".egg-link", ".pth")
# flowengine's own files that shape the cached data
_OWN_SOURCES = ("catalog.py", "registry.py", "action.py", "types.py")


def load_catalog(use_cache: bool | None = None) -> Catalog:
    """The installed actions' catalog, from the cache when it is fresh, else by discovery
    (which imports every plug-in and raises `PluginError` on duplicate action names)."""
    if use_cache is None:
        use_cache = not os.environ.get("FLOWENGINE_NO_CACHE")
    path = cache_file() if use_cache else None
    if path is not None:
        data = _read_cache(path)
        if data is not None:
            return Catalog(data)
    from flowengine.plugins.registry import get_registry
    registry = get_registry()
    data = registry.metadata()
    if path is not None:
        _write_cache(path, data, registry.source_dirs())
    return Catalog(data)


def cache_dir() -> str:
    """`$FLOWENGINE_CACHE_DIR`, else `$XDG_CACHE_HOME/flowengine`, else `~/.cache/flowengine`
    (`%LOCALAPPDATA%\\flowengine\\cache` on Windows)."""
    explicit = os.environ.get("FLOWENGINE_CACHE_DIR")
    if explicit:
        return explicit
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return os.path.join(os.environ["LOCALAPPDATA"], "flowengine", "cache")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "flowengine")


def cache_file() -> str:
    """One cache file per interpreter and import path (each sees its own set of plug-ins)."""
    from zlib import crc32
    key = "\0".join([sys.prefix, sys.version, *sys.path])
    return os.path.join(cache_dir(), f"catalog-{crc32(key.encode('utf-8', 'surrogateescape')):08x}.json")


def fingerprint(roots: Iterable[str]) -> list[str]:
    """What discovery depends on: every distribution's entry points on `sys.path`, the `.pth`
    files, and every file under the plug-ins' own directories when they live outside an installed
    location (editable installs, `PYTHONPATH`)."""
    parts = [f"format {CACHE_FORMAT}", sys.version]
    own = os.path.dirname(os.path.abspath(__file__))
    parts.extend(file_stamp(os.path.join(own, name)) for name in _OWN_SOURCES)
    for entry in sys.path:
        directory = entry or "."  # '' is the current directory, as for imports
        try:
            with os.scandir(directory) as it:
                names = sorted(e.name for e in it if e.name.endswith(_META_SUFFIXES))
        except NotADirectoryError:
            parts.append(file_stamp(directory))
            continue
        except OSError:
            parts.append(f"{directory} -")
            continue
        parts.append(f"dir {directory}")
        for name in names:
            path = os.path.join(directory, name)
            if name.endswith(("-info",)) and os.path.isdir(path):
                path = os.path.join(path, "entry_points.txt")
            parts.append(file_stamp(path))
    for root in roots:
        _walk(root, parts)
    return parts


def file_stamp(path: str) -> str:
    """`PATH MTIME_NS SIZE`, or `PATH -` when it cannot be read: what a fingerprint holds of a file."""
    try:
        st = os.stat(path)
    except OSError:
        return f"{path} -"
    return f"{path} {st.st_mtime_ns} {st.st_size}"


def _walk(root: str, parts: list[str], budget: int = 5000) -> None:
    if not os.path.isdir(root):
        parts.append(file_stamp(root))
        return
    pending = [root]
    while pending and budget > 0:
        directory = pending.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            parts.append(f"{directory} -")
            continue
        parts.append(f"dir {directory}")
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            else:
                parts.append(file_stamp(entry.path))
                budget -= 1


def _read_cache(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            cached = json.load(f)
        if cached.get("format") != CACHE_FORMAT or cached["fingerprint"] != fingerprint(cached["roots"]):
            return None
        return cached["catalog"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, unreadable or from another version: rediscover


def _write_cache(path: str, data: dict[str, Any], roots: list[str], keep: int = 16) -> None:
    """Write atomically (temp file + rename); a cache that cannot be written is no error."""
    from flowengine.output import write_atomically

    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        write_atomically(path, json.dumps({"format": CACHE_FORMAT, "roots": roots,
                                           "fingerprint": fingerprint(roots), "catalog": data},
                                          ensure_ascii=False))
        # one file per import path: keep the most recent few
        cached = [os.path.join(directory, n) for n in os.listdir(directory)
                  if n.startswith("catalog-") and n.endswith(".json")]
        for old in sorted(cached, key=os.path.getmtime)[:-keep]:
            os.remove(old)
    except OSError:
        pass
