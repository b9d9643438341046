"""Rule-based moderation of text and images: every flag names the rule that raised it.

Text: a weighted word list (whole words, case- and accent-folded, with common digit-for-letter swaps undone),
links, contact details (emails, phone numbers, handles of other apps), and spam signs (shouting, repeated
characters or words, hashtag stuffing). Image: the share of skin-tone pixels in YCrCb (the Chai & Ngan
range, a classic heuristic; it cannot tell nudity from a close-up face, so it only ever sends an image to a
human) and whether the image is blank.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

# Scores add up; 1.0 or more flags the text. Kept short and explicit so moderators can read and tune it.
WORDS: dict[str, float] = {
    # threats and violence
    "kill": 0.6,
    "murder": 0.7,
    "shoot": 0.4,
    "bomb": 0.6,
    "stab": 0.6,
    # harassment
    "idiot": 0.35,
    "stupid": 0.3,
    "loser": 0.3,
    "moron": 0.4,
    "ugly": 0.25,
    "trash": 0.2,
    "kys": 1.0,
    "die": 0.4,
    # scams
    "scam": 0.4,
    "giveaway": 0.3,
    "free money": 0.8,
    "crypto": 0.3,
    "double your": 0.8,
    "wire transfer": 0.6,
    "password": 0.4,
    "gift card": 0.5,
    # adult
    "nude": 0.6,
    "nudes": 0.8,
    "porn": 1.0,
    "xxx": 0.8,
    "onlyfans": 0.6,
}
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})

LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|net|org|io|ru|xyz|top|link|ly|me)\b")
EMAIL = re.compile(r"(?i)\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{7,}\d(?!\w)")
HANDLE = re.compile(r"(?i)\b(?:whatsapp|telegram|snap(?:chat)?|wechat|signal|kik)\b")
SHOUT = re.compile(r"[A-Z]")
REPEAT_CHAR = re.compile(r"(.)\1{5,}")


@dataclass(slots=True)
class Verdict:
    flagged: bool
    score: float
    labels: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(LEET)


def check_text(text: str) -> Verdict:
    folded = fold(text)
    words = re.findall(r"[a-z]+", folded)
    joined = " " + " ".join(words) + " "
    score = 0.0
    labels: list[str] = []
    matches: list[str] = []
    for term, weight in WORDS.items():
        hits = joined.count(f" {term} ")
        if hits:
            score += weight * min(hits, 3)
            matches.append(term)
    if matches:
        labels.append("wordlist")
    if LINK.search(text):
        score += 0.5
        labels.append("link")
    if EMAIL.search(text) or PHONE.search(text) or HANDLE.search(folded):
        score += 0.6
        labels.append("contact-details")
    letters = [c for c in text if c.isalpha()]
    spam = 0.0
    if len(letters) >= 12 and sum(1 for c in letters if SHOUT.match(c)) / len(letters) > 0.7:
        spam += 0.3
    if REPEAT_CHAR.search(text):
        spam += 0.3
    if len(words) >= 6 and len(set(words)) / len(words) < 0.4:
        spam += 0.5
    if text.count("#") > 15:
        spam += 0.4
    if spam:
        labels.append("spam")
        score += spam
    return Verdict(flagged=score >= 1.0, score=round(score, 3), labels=labels, matches=matches)


def check_image(image: npt.NDArray[np.uint8]) -> Verdict:
    """``image`` is RGB. Flags a mostly skin-tone image for human review, and reports blank images."""
    ycrcb = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    skin = cv2.inRange(ycrcb, np.array([0, 133, 77], np.uint8), np.array([255, 173, 127], np.uint8))
    share = float(np.count_nonzero(skin)) / skin.size
    labels: list[str] = []
    score = 0.0
    if share > 0.45:
        labels.append("skin-tone")
        score = round(min(1.5, share * 2), 3)
    if float(image.std()) < 4.0:
        labels.append("blank")
    return Verdict(flagged=score >= 1.0, score=score, labels=labels, matches=[f"skin_share={share:.2f}"])
