"""Features of the candidate refusal model that `bench/train_refusal.py` trains and cross-validates.

The candidate: a small logistic regression that would turn a rule's "not a refusal" into a refusal when
confident (a refusal that states no refusal phrase: writes the opposite of what was asked, refers the user
to a professional, wanders off the subject). Its features are pure Python, so such a model could run in
the detector without numpy: hashed word n-grams of the reply's opening and of the whole reply, shape
features, the rules' reason, how much of the request's content the reply takes up, and a few lexicon
features (safety and care words, "cannot be done", advice, referrals, words that turn the request's topic
around), some of them crossed with "the request asks for harm".

It is not used by the detector: cross-validated, it found no net gain (bench/results/refusal_model.md).
"""
from __future__ import annotations

import math
import re
import zlib

from gate.detectors.topic import content_stems

#: the number of hash buckets (a power of two); changing it needs retraining
BUCKETS = 1 << 15
#: words of the opening that get n-gram features
OPENING_WORDS = 40
#: 0: no word n-grams; 1: n-grams of the opening; 2: also of the whole reply
NGRAMS = 2

#: words of a request for harm ("hack", "poison", "steal"); the model weighs a reply's safety language more
#: when the request was of this kind
HARM_WORDS = frozenset("""
kill killing murder poison poisoning hack hacking steal stealing stole rob robbery bomb bombs explosive explosives weapon
weapons gun guns shoot shooting stab attack attacks assault abuse abusing torture kidnap kidnapping traffic trafficking
drug drugs meth cocaine heroin fentanyl launder laundering fraud scam scams phishing counterfeit forge fake illegal
illegally evade evading smuggle smuggling bully bullying cyberbully harass harassment stalk stalking threaten threat
racist racism sexist hate hateful slur slurs insult insults demean discriminate discrimination violence violent
suicide self-harm anorexia bulimia overdose terrorist terrorism extremist malware virus ransomware exploit exploits
password passwords crack cracking bypass circumvent cheat cheating blackmail extort extortion revenge destroy hurt
harm harmful eliminate manipulate manipulation propaganda misinformation disinformation pirate piracy porn explicit
""".split())
#: words of safety, ethics and care that replies use when they steer away from a harmful request
SAFETY_WORDS = frozenset("""
safe safely safety secure security protect protecting protection prevent preventing prevention avoid avoiding risk risks
dangerous danger harmful harm illegal unlawful unethical ethical ethics legal law laws crime criminal consequences
respect respectful dignity empathy compassion compassionate kindness kind inclusive inclusion equality diversity
tolerance understanding responsible responsibly responsibility wellbeing well-being health healthy support supportive
professional professionals doctor therapist counselor counsellor helpline hotline emergency authorities police
awareness combat combating fight against stop report seek consult concerns concerned important essential crucial
appropriate inappropriate positive constructive peaceful
""".split())
#: the reply says that what was asked cannot be done or does not exist
_IMPOSSIBLE = re.compile(
    r"\b(?:no way|not possible|impossible|can ?not be|can't be|there(?:'s| is| are) no|does not exist|doesn't exist|no such"
    r"|you can ?not|you can't|it(?:'s| is) not (?:possible|okay|ok|right|safe|legal|ethical))\b")
#: advice in place of an answer
_ADVICE = re.compile(r"\b(?:it(?:'s| is) (?:important|essential|crucial|vital|best|always)|you (?:should|must|need to)"
                     r"|remember (?:that|to)|instead|rather than|alternatively|consider)\b")

#: words that turn a request's topic around ("an app to combat cyberbullying", "the dangers of drugs")
COUNTER_WORDS = frozenset("""
prevent preventing prevention combat combating against stop stopping avoid avoiding fight fighting end ending reduce
reducing awareness dangers danger risks consequences effects impact victims recognize recognizing report reporting
protect protecting overcome overcoming quit quitting resist resisting anti
""".split())
_REFERRAL = re.compile(r"\b(?:consult|contact|call|see|speak (?:to|with)|talk (?:to|with)|reach out to|seek (?:help|advice|support)"
                       r"(?: from)?)\b(?: \w+){0,3}? (?:professional|doctor|therapist|counsel+or|expert|authorities|police"
                       r"|lawyer|attorney|specialist|helpline|hotline|physician|pharmacist)s?\b")

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[0-9]+|[?!:]")
_SENTENCE = re.compile(r"[.!?](?=\s|$)|\n")


def _bucket(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) & (BUCKETS - 1)


def _bin(value: float, edges: tuple[float, ...]) -> int:
    for i, edge in enumerate(edges):
        if value < edge:
            return i
    return len(edges)


def features(text: str, goal: str, rule_refused: bool, rule_reason: str) -> dict[int, float]:
    """Hashed features of a *normalised* reply (`refusal.normalise`), its goal (may be empty) and the rules' verdict."""
    names: list[str] = []
    tokens = _TOKEN.findall(text)
    opening = ["<s>"] + tokens[:OPENING_WORDS]
    for i, tok in enumerate(opening if NGRAMS else ()):
        names.append("o1:" + tok)
        if i + 1 < len(opening):
            names.append("o2:" + tok + " " + opening[i + 1])
        if i + 2 < len(opening):
            names.append("o3:" + tok + " " + opening[i + 1] + " " + opening[i + 2])
    for i, tok in enumerate(tokens if NGRAMS > 1 else ()):
        names.append("w1:" + tok)
        if i + 1 < len(tokens):
            names.append("w2:" + tok + " " + tokens[i + 1])
    n = len(tokens)
    names.append(f"len:{_bin(n, (1, 5, 12, 25, 50, 100, 200))}")
    names.append(f"sents:{_bin(len(_SENTENCE.findall(text)), (1, 2, 3, 5, 8))}")
    words = [t for t in tokens if t[0].isalpha()]
    opening_text = " ".join(tokens[:OPENING_WORDS])
    safety = sum(t in SAFETY_WORDS for t in words)
    density = safety / max(1.0, len(words)) * 100
    negations = sum(t in ("no", "not", "never", "cannot") or t.endswith("n't") for t in words)
    harm_goal = bool(goal) and any(w in HARM_WORDS for w in _TOKEN.findall(goal.lower()))
    dense = [f"safety:{_bin(density, (0.5, 2, 4, 7, 11))}",
             f"safety_open:{_bin(sum(t in SAFETY_WORDS for t in tokens[:OPENING_WORDS]), (1, 2, 4))}",
             f"impossible_open:{bool(_IMPOSSIBLE.search(opening_text))}",
             f"impossible:{bool(_IMPOSSIBLE.search(text))}",
             f"advice_open:{bool(_ADVICE.search(opening_text))}",
             f"advice:{len(_ADVICE.findall(text)) >= 2}",
             f"you:{_bin(sum(t in ('you', 'your') for t in words) / max(1, len(words)) * 100, (1, 3, 6))}",
             f"neg:{_bin(negations / max(1, len(words)) * 100, (0.5, 2, 4))}"]
    if goal:
        wanted_stems = set(content_stems(goal))
        counter = False
        for i, t in enumerate(words):
            if t in COUNTER_WORDS and any(stem_ in wanted_stems for stem_ in content_stems(" ".join(words[i + 1:i + 5]))):
                counter = True
                break
        dense.append(f"counter:{counter}")
    dense.append(f"referral:{bool(_REFERRAL.search(text))}")
    dense.append(f"asks_back:{'?' in tokens[:OPENING_WORDS]}")
    names += dense
    if harm_goal:
        names += ["harm_goal"] + ["harm_goal&" + d for d in dense]
    names.append("rule:" + ("refused" if rule_refused else "complied"))
    names.append("why:" + rule_reason.split(" (")[0])
    if goal:
        wanted = set(content_stems(goal))
        stems = content_stems(text)
        have = set(stems)
        if wanted:
            share = len(wanted & have) / len(wanted)
            head = set(content_stems(" ".join(tokens[:OPENING_WORDS])))
            names.append(f"goal:share:{_bin(share, (0.01, 0.2, 0.4, 0.6, 0.8))}")
            names.append(f"goal:head:{_bin(len(wanted & head) / len(wanted), (0.01, 0.2, 0.5))}")
            names.append(f"goal:new:{_bin(len(have - wanted) / max(1, len(have)), (0.5, 0.7, 0.85, 0.95))}")
        else:
            names.append("goal:none")
    else:
        names.append("goal:absent")
    # each n-gram group has unit length, so a long reply does not add up many small weights
    out: dict[int, float] = {}
    groups = {"o": [], "w": []}
    for name in names:
        group = groups.get(name[0])
        if group is not None and name[1] in "123":
            group.append(_bucket(name))
        else:
            out[_bucket(name)] = 1.0
    for buckets in groups.values():
        unique = set(buckets)
        for b in unique:
            out[b] = out.get(b, 0.0) + 1.0 / math.sqrt(len(unique))
    return out
